//! The statistics every layer above the model shares: running moments and Student's t for
//! the sweep's summaries and plots ([`moments`]); means, quantiles, reproducible bootstrap
//! intervals, rank correlation and Wilson's interval for the experiments and calibration
//! ([`sample`]). Plain functions of numbers: nothing here knows a scenario or a file.

pub mod moments;
pub mod sample;

pub use moments::{Moments, t975};
pub use sample::{RESAMPLES, bootstrap, bootstrap_mean, mean, pearson, quantile, ranks, sd, spearman, wilson};
