//! Innovation lineage (DESIGN 6.6): every successful experiment (and every change the
//! centre designs itself) creates an innovation; zones and the programme carry, per
//! instrument, the id of the innovation their setting came from. Imitation and compliance
//! copy ids, so each adoption is known to be horizontal (zone to zone) or vertical (from
//! the programme). Id 0 means "no innovation" (an initial or random setting).

/// Placeholder written by the parallel zone step; replaced by a real id afterwards, in
/// zone order, so ids never depend on thread scheduling.
pub(crate) const PENDING: u32 = u32::MAX;

/// Origin "zone" of an innovation the centre designed itself (central search).
pub(crate) const CENTRE: u32 = u32::MAX;

/// How a zone came to hold an innovation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Horizontal,
    Vertical,
    /// Entry with the programme's settings, or a zone's own experiment: held, not adopted.
    None,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Innovation {
    pub(crate) origin_zone: u32,
    pub(crate) tick: u32,
    pub(crate) instrument: u8,
    pub(crate) value: bool,
    pub(crate) holders: u32,
    pub(crate) peak_holders: u32,
    pub(crate) peak_tick: u32,
    pub(crate) horizontal: u32,
    pub(crate) vertical: u32,
    pub(crate) fed_back_tick: Option<u32>,
    /// Tick at which the last holder (zone or programme) dropped it.
    pub(crate) extinct_tick: Option<u32>,
}

/// All innovations of one replication, indexed by id - 1.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lineage {
    pub(crate) innovations: Vec<Innovation>,
    /// Ids that gained a holder this tick; their peaks are settled at the end of the tick,
    /// so a peak is always an end-of-tick count whatever order holders move in.
    gained: Vec<u32>,
}

impl Lineage {
    /// Creates an innovation and returns its id.
    pub(crate) fn create(&mut self, origin_zone: u32, tick: u32, instrument: u32, value: bool) -> u32 {
        self.innovations.push(Innovation {
            origin_zone,
            tick,
            instrument: instrument as u8,
            value,
            holders: 0,
            peak_holders: 0,
            peak_tick: tick,
            horizontal: 0,
            vertical: 0,
            fed_back_tick: None,
            extinct_tick: None,
        });
        self.innovations.len() as u32
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut Innovation> {
        if id == 0 || id == PENDING { None } else { self.innovations.get_mut(id as usize - 1) }
    }

    /// A zone stopped holding `id`.
    #[inline]
    pub(crate) fn drop_holder(&mut self, id: u32, tick: u32, in_programme: bool) {
        if let Some(inn) = self.get_mut(id) {
            inn.holders -= 1;
            if inn.holders == 0 && !in_programme {
                inn.extinct_tick = Some(tick);
            }
        }
    }

    /// A zone started holding `id` through `channel`.
    #[inline]
    pub(crate) fn add_holder(&mut self, id: u32, channel: Channel) {
        if let Some(inn) = self.get_mut(id) {
            inn.holders += 1;
            inn.extinct_tick = None;
            match channel {
                Channel::Horizontal => inn.horizontal += 1,
                Channel::Vertical => inn.vertical += 1,
                Channel::None => {}
            }
            self.gained.push(id);
        }
    }

    /// Records the peaks reached by the end of `tick`.
    pub(crate) fn settle_peaks(&mut self, tick: u32) {
        for id in self.gained.drain(..) {
            let inn = &mut self.innovations[id as usize - 1];
            if inn.holders > inn.peak_holders {
                inn.peak_holders = inn.holders;
                inn.peak_tick = tick;
            }
        }
    }

    /// The programme adopted `id` (feedback): record the first time.
    pub(crate) fn fed_back(&mut self, id: u32, tick: u32) {
        if let Some(inn) = self.get_mut(id) {
            inn.fed_back_tick.get_or_insert(tick);
            inn.extinct_tick = None;
        }
    }

    /// The programme dropped `id`; it dies if no zone holds it either.
    pub(crate) fn programme_dropped(&mut self, id: u32, tick: u32) {
        if let Some(inn) = self.get_mut(id)
            && inn.holders == 0
        {
            inn.extinct_tick = Some(tick);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.innovations.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_peak_and_extinction() {
        let mut l = Lineage::default();
        let id = l.create(3, 1, 2, true);
        assert_eq!(id, 1);
        l.add_holder(id, Channel::None);
        l.settle_peaks(1);
        l.add_holder(id, Channel::Horizontal);
        l.settle_peaks(2);
        l.add_holder(id, Channel::Vertical);
        l.settle_peaks(3);
        l.drop_holder(id, 4, false);
        // Within a tick, a transient count above the end-of-tick one is no peak.
        l.add_holder(id, Channel::Horizontal);
        l.drop_holder(id, 4, false);
        l.drop_holder(id, 4, false);
        l.add_holder(id, Channel::Horizontal);
        l.settle_peaks(4);
        let inn = &l.innovations[0];
        assert_eq!((inn.holders, inn.peak_holders, inn.peak_tick, inn.horizontal, inn.vertical), (2, 3, 3, 3, 1));
        l.drop_holder(id, 5, true);
        l.drop_holder(id, 5, true);
        assert_eq!(l.innovations[0].extinct_tick, None, "held by the programme");
        l.programme_dropped(id, 6);
        assert_eq!(l.innovations[0].extinct_tick, Some(6));
        assert!(l.get_mut(0).is_none() && l.get_mut(PENDING).is_none());
    }
}
