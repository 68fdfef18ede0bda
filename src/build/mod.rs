//! Network builder (`glifnet build SPEC.json -o DIR`): writes SONATA circuits BMTK can run.
