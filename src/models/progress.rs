//! The download progress bar shared by every model source.

use indicatif::{ProgressBar, ProgressDrawTarget};
use std::ops::Deref;

/// The progress bar, drawn on stderr only once bytes flow (so a source that
/// fails at once leaves no empty bar behind) and only when asked for.
pub(crate) struct Progress {
    pub(crate) bar: ProgressBar,
    pub(crate) show: bool,
}

impl Progress {
    /// Starts drawing, if progress is wanted and the bar is not drawn yet.
    pub(crate) fn reveal(&self) {
        if self.show && self.bar.is_hidden() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

impl Deref for Progress {
    type Target = ProgressBar;
    fn deref(&self) -> &ProgressBar {
        &self.bar
    }
}
