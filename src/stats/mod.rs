//! The statistics every layer above the model shares: running moments and Student's t for
//! the sweep's summaries and plots ([`moments`]); means, quantiles, reproducible bootstrap
//! intervals, rank correlation and Wilson's interval for the experiments and calibration
//! ([`sample`]). Plain functions of numbers: nothing here knows a scenario or a file.

pub(crate) mod moments;
pub(crate) mod sample;

pub(crate) use moments::{Moments, t975};
pub(crate) use sample::{bootstrap, bootstrap_mean, mean, quantile, sd, spearman, wilson};
