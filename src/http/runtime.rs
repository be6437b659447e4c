//! Setting up may, the coroutine runtime, for the server.
//!
//! may reads its settings when its scheduler starts, which happens on the
//! first coroutine spawn or the first may socket: configure it before that.

/// Sets may's worker threads (one per core) and the default coroutine stack.
/// Pass the same `coroutine_stack_bytes` as `ServerConfig::
/// connection_stack_bytes` (`CONNECTION_STACK_BYTES_DEFAULT` by default): then
/// connection coroutines take ready stacks from may's pool instead of mapping
/// one per connection. Call it once, first thing in `main`.
pub fn configure_may(workers_count: usize, coroutine_stack_bytes: usize) {
    assert!(workers_count > 0);
    let word_bytes = std::mem::size_of::<usize>();
    assert!(
        coroutine_stack_bytes.is_multiple_of(word_bytes),
        "may counts stacks in words"
    );
    may::config()
        .set_workers(workers_count)
        .set_stack_size(coroutine_stack_bytes / word_bytes);
}
