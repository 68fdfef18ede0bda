//! External drive: virtual spike trains, Poisson sources and current clamps.
