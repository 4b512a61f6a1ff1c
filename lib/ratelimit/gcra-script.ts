// The Redis side of RedisRateLimiter: GCRA (the generic cell rate algorithm,
// a token bucket kept as one timestamp) in one Lua script, so a check is a
// single atomic round trip on a single key.
//
// Why GCRA rather than a sliding window: one key holding one number per limit
// (a sliding log keeps a ZSET entry per request; a sliding counter is only an
// estimate), no burst of twice the limit at a window edge (the fixed windows
// of envoyproxy/ratelimit and rate-limiter-flexible allow that), no
// background refill, and "take up to k tokens" is one addition, which is what
// a quota lease needs. It reads the time from Redis, so the clocks of the
// processes sharing a limit do not matter. The retry time it returns is
// exact: tokens only ever appear with time, so a refusal can be cached
// locally until then without admitting anything Redis would refuse.
//
// KEYS[1]  the limit's key (one key: safe on Redis Cluster)
// ARGV[1]  emission interval T in ms (unit / requests_per_unit)
// ARGV[2]  capacity in ms (requests_per_unit * T, i.e. the unit): a full bucket
// ARGV[3]  tokens wanted
// ARGV[4]  tokens that must be granted, else nothing is taken
// Returns  {granted, retryAfterMs}: granted 0 means refused, retry after
//          that many ms for ARGV[4] tokens.
export const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local need = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local available = math.floor((now + capacity - tat) / interval + 1e-9)
if available < need then
  return {0, math.ceil(tat + need * interval - capacity - now)}
end
local granted = want
if available < granted then granted = available end
tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%.17g', tat), 'PX', math.ceil(tat - now) + 1)
return {granted, 0}
`;
