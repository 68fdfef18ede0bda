//! SIGINT and SIGTERM as a stop request: the first one raises a flag the engine checks at each
//! epoch boundary and remembers which signal it was (for the exit code); the handler is
//! one-shot, so a second signal ends the process the default way.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // only async-signal-safe work here: two atomic stores
    SIGNAL.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// Install the handlers for SIGINT and SIGTERM (idempotent).
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores atomics; SA_RESETHAND
        // restores the default action after the first delivery.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The stop flag the engine polls.
pub fn flag() -> &'static AtomicBool {
    &STOP
}

/// The signal received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// "SIGINT (Ctrl-C)", "SIGTERM", …
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "interrupted (SIGINT, Ctrl-C)",
        libc::SIGTERM => "terminated (SIGTERM)",
        _ => "stopped by a signal",
    }
}
