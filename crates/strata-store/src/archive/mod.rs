//! `save` and `load`: docker-archive (Docker 25+'s layout, which is also an OCI image layout,
//! so it loads in old and new Docker alike) and plain OCI image layouts.

mod load;
mod save;
mod types;

pub use load::LoadedImage;
pub use save::SaveFormat;
