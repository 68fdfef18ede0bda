//! Adapter: `models::ModelGroup` as an engine [`super::Group`] (filled in once the models
//! contract lands on main).
