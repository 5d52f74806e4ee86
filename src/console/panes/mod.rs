//! The state of each pane. Panes hold data and small pure helpers; `App::update` decides.

pub mod files;
pub mod params;
pub mod results;
