//! The Lua scripts that make each multi-key step atomic: one round trip per step, and no
//! interleaving another worker or the coordinator could observe half-done.

use redis::Script;
use std::sync::LazyLock;

/// Store results set-if-absent, count the new ones, optionally acknowledge the shard, and
/// end the job when its last site got its result.
///
/// KEYS: job hash, results hash, shard stream, active set.
/// ARGV: now (unix ms), stream entry id to XACK or "", group, job id, then triples
/// (index, "1" when the result is `scan_failed` else "0", result JSON).
/// Returns `{written, failed_written, job_finished}`.
pub(crate) static STORE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local written, failed = 0, 0
for i = 5, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then
    written = written + 1
    if ARGV[i + 1] == '1' then failed = failed + 1 end
  end
end
if written > 0 then redis.call('HINCRBY', KEYS[1], 'done', written) end
if failed > 0 then redis.call('HINCRBY', KEYS[1], 'failed', failed) end
if ARGV[2] ~= '' then redis.call('XACK', KEYS[3], ARGV[3], ARGV[2]) end
local finished = 0
local state = redis.call('HGET', KEYS[1], 'state')
local done = tonumber(redis.call('HGET', KEYS[1], 'done') or '0')
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '-1')
if state == 'running' and done >= total then
  redis.call('HSET', KEYS[1], 'state', 'done', 'finished_ms', ARGV[1])
  redis.call('SREM', KEYS[4], ARGV[4])
  finished = 1
end
return {written, failed, finished}
"#,
    )
});

/// Read what a shard still needs: the job's state, then (index, site JSON) for every site
/// of `[start, end)` that has no result yet.
///
/// KEYS: job hash, site list, results hash. ARGV: start, end (exclusive).
pub(crate) static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local out = { redis.call('HGET', KEYS[1], 'state') or '' }
local start, stop = tonumber(ARGV[1]), tonumber(ARGV[2])
if stop <= start then return out end
local sites = redis.call('LRANGE', KEYS[2], start, stop - 1)
for i, json in ipairs(sites) do
  local index = start + i - 1
  if redis.call('HEXISTS', KEYS[3], index) == 0 then
    table.insert(out, tostring(index))
    table.insert(out, json)
  end
end
return out
"#,
    )
});

/// Move a job from `from` to `to` state atomically; returns the state it had.
///
/// KEYS: job hash, active set. ARGV: comma-separated allowed `from` states, `to`, job id,
/// now (unix ms, written as `finished_ms` when `to` is final).
pub(crate) static TRANSITION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return '' end
for allowed in string.gmatch(ARGV[1], '[^,]+') do
  if state == allowed then
    redis.call('HSET', KEYS[1], 'state', ARGV[2])
    if ARGV[2] == 'running' then
      redis.call('SADD', KEYS[2], ARGV[3])
    else
      redis.call('SREM', KEYS[2], ARGV[3])
      redis.call('HSET', KEYS[1], 'finished_ms', ARGV[4])
    end
    return state
  end
end
return state
"#,
    )
});

/// Take a lease on an address if fewer than the limit are held (expired ones dropped
/// first), by Redis's own clock so workers' clocks need not agree.
///
/// KEYS: the address's sorted set. ARGV: lease id, limit, time to live (ms).
/// Returns 1 when taken, 0 when the limit is reached.
/// Renew lease ARGV[1] to expire ARGV[2] ms from now, if it is still held: 1, else 0 (it
/// expired and was taken away). `ZADD XX` never adds a lease that is gone.
pub(crate) static RENEW_LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + ttl, ARGV[1]) == 0 then return 0 end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"#,
    )
});

pub(crate) static LEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"#,
    )
});
