//! Helpers shared by the rt-app import tests.

use schedsim_workload::rtapp::{end, output, start};
use schedsim_workload::Step;

/// An rt-app thread's program after the start marker it opens with (checked here), without
/// the markers of the lines rt-app prints and of where its end starts; after a forever
/// loop, without that end either (reached at rt-app's shutdown only).
pub fn thread_body(p: &[Step]) -> Vec<Step> {
    assert_eq!(p[0], Step::Marker(start::MARKER.into()));
    let at_end = p
        .iter()
        .position(|s| *s == Step::Marker(end::MARKER.into()))
        .expect("every thread has its end");
    let forever = matches!(p[at_end - 1], Step::Loop { count: None, .. });
    let stop = if forever { at_end } else { p.len() };
    p[1..stop]
        .iter()
        .filter(|s| **s != Step::Marker(output::MARKER.into()))
        .filter(|s| **s != Step::Marker(end::MARKER.into()))
        .cloned()
        .collect()
}
