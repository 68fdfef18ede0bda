//! BMTK configuration files: merging, manifest substitution, typed sections.
