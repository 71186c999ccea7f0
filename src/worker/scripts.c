/*
 * The worker's Lua scripts. Each moves an event from one state to the next
 * in one atomic step, so two workers, the scheduler and the receivers can
 * never see it half-moved. Every key carries the installation's hash tag,
 * so the scripts also run on Redis Cluster; the per-entity keys
 * ({p}:seq:<entity>, {p}:job:<id>) are built inside the scripts from the
 * prefix, all in the same slot as the declared keys.
 *
 * Conventions of the scripts sharing SCRIPT_COMMON: KEYS[1] the stream
 * {p}:events, KEYS[2] the hash {p}:live; ARGV[1] the key prefix "{p}:",
 * ARGV[2] the consumer group.
 *
 * {p}:live maps each unfinished event about an entity to where it is: its
 * stream entry id, or "job" when it waits in {p}:job:<id> (parked behind an
 * older event, or waiting for a retry). An element of a sequence list whose
 * event is nowhere (someone deleted it by hand, Redis lost data) is
 * dropped when met at the head, so nothing can block an entity forever.
 */
#include "config.h"

#include "worker-internal.h"

#define SCRIPT_COMMON \
	"local ev, live, pfx, group = KEYS[1], KEYS[2], ARGV[1], ARGV[2]\n" \
	"local parked = pfx .. 'parked'\n" \
	"local function alive(h)\n" \
	"  local v = redis.call('HGET', live, h)\n" \
	"  if not v then return false end\n" \
	"  if v == 'job' then return redis.call('EXISTS', pfx .. 'job:' .. h) == 1 end\n" \
	"  return #redis.call('XRANGE', ev, v, v) > 0\n" \
	"end\n" \
	/* The first element of q whose event still exists; stale ones go. */ \
	"local function head(q)\n" \
	"  while true do\n" \
	"    local h = redis.call('LINDEX', q, 0)\n" \
	"    if not h or alive(h) then return h end\n" \
	"    redis.call('LPOP', q)\n" \
	"    redis.call('HDEL', live, h)\n" \
	"  end\n" \
	"end\n" \
	/* True if id heads every list it is in. */ \
	"local function heads_all(id, ents)\n" \
	"  for e in string.gmatch(ents, '%S+') do\n" \
	"    local q = pfx .. 'seq:' .. e\n" \
	"    if head(q) ~= id and redis.call('LPOS', q, id) then return false end\n" \
	"  end\n" \
	"  return true\n" \
	"end\n" \
	/* Moves {p}:job:<id> back into the stream as a new entry. */ \
	"local function to_stream(id)\n" \
	"  local jk = pfx .. 'job:' .. id\n" \
	"  local h = redis.call('HGETALL', jk)\n" \
	"  if #h == 0 then return nil end\n" \
	"  local args, ents = {}, ''\n" \
	"  for i = 1, #h, 2 do\n" \
	"    if h[i] ~= 'state' then args[#args + 1] = h[i]; args[#args + 1] = h[i + 1] end\n" \
	"    if h[i] == 'entities' then ents = h[i + 1] end\n" \
	"  end\n" \
	"  local sid = redis.call('XADD', ev, '*', unpack(args))\n" \
	"  redis.call('DEL', jk)\n" \
	"  redis.call('ZREM', parked, id)\n" \
	"  if ents ~= '' then redis.call('HSET', live, id, sid) end\n" \
	"  return sid\n" \
	"end\n" \
	/* A parked event that now heads all of its lists goes back to the stream. */ \
	"local function wake(h)\n" \
	"  local jk = pfx .. 'job:' .. h\n" \
	"  if redis.call('HGET', jk, 'state') ~= 'parked' then return false end\n" \
	"  if not heads_all(h, redis.call('HGET', jk, 'entities') or '') then return false end\n" \
	"  to_stream(h)\n" \
	"  return true\n" \
	"end\n" \
	/* id is finished: it leaves its lists, and their new heads are woken. */ \
	"local function release(id, ents)\n" \
	"  redis.call('HDEL', live, id)\n" \
	"  for e in string.gmatch(ents, '%S+') do\n" \
	"    local q = pfx .. 'seq:' .. e\n" \
	"    if redis.call('LINDEX', q, 0) == id then redis.call('LPOP', q) else redis.call('LREM', q, 1, id) end\n" \
	"    local h = head(q)\n" \
	"    if h then wake(h) end\n" \
	"  end\n" \
	"end\n" \
	"local function owned(sid, me)\n" \
	"  return #redis.call('XPENDING', ev, group, sid, sid, 1, me) == 1\n" \
	"end\n" \
	"local function now_ms()\n" \
	"  local t = redis.call('TIME')\n" \
	"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
	"end\n"

/*
 * The ordering gate, before a job about entities runs. ARGV[3] consumer,
 * [4] entry id, [5] event id, [6] entities. Returns "run" (it heads all of
 * its lists), "park" (it waits in {p}:job:<id>, out of the stream, until
 * its predecessor finishes), "lost" (the entry is no longer ours) or
 * "gone" (pending but deleted from the stream).
 */
const char worker_gate_script[] =
    SCRIPT_COMMON
    "local me, sid, id, ents = ARGV[3], ARGV[4], ARGV[5], ARGV[6]\n"
    "if not owned(sid, me) then return 'lost' end\n"
    "if heads_all(id, ents) then return 'run' end\n"
    "local e = redis.call('XRANGE', ev, sid, sid)\n"
    "if #e == 0 then return 'gone' end\n"
    "local jk = pfx .. 'job:' .. id\n"
    "redis.call('DEL', jk)\n"
    "redis.call('HSET', jk, 'state', 'parked', unpack(e[1][2]))\n"
    "redis.call('HSET', live, id, 'job')\n"
    "redis.call('ZADD', parked, string.format('%.0f', now_ms()), id)\n"
    "redis.call('XACK', ev, group, sid)\n"
    "redis.call('XDEL', ev, sid)\n"
    "return 'park'\n";

/*
 * The end of a job. KEYS[3] {p}:retry, KEYS[4] {p}:dead; ARGV[3] consumer,
 * [4] entry id, [5] event id, [6] mode done|retry|dead, [7] entities,
 * [8] retry delay ms, [9..] the fields to store (retry: the event with its
 * new attempt count and history; dead: the same plus the reason). The entry
 * is acknowledged and deleted (payloads stay in Redis only until
 * processed). Returns the mode, or "lost" if another worker took the entry
 * over (then nothing changes: that worker finishes it).
 */
const char worker_finish_script[] =
    SCRIPT_COMMON
    "local me, sid, id, mode, ents = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]\n"
    "if not owned(sid, me) then return 'lost' end\n"
    "redis.call('XACK', ev, group, sid)\n"
    "redis.call('XDEL', ev, sid)\n"
    "local f = {}\n"
    "for i = 9, #ARGV do f[#f + 1] = ARGV[i] end\n"
    "if mode == 'retry' then\n"
    "  local jk = pfx .. 'job:' .. id\n"
    "  redis.call('DEL', jk)\n"
    "  redis.call('HSET', jk, 'state', 'retry', unpack(f))\n"
    "  redis.call('ZADD', KEYS[3], string.format('%.0f', now_ms() + tonumber(ARGV[8])), id)\n"
    "  if ents ~= '' then redis.call('HSET', live, id, 'job') end\n"
    "  return 'retry'\n"
    "end\n"
    "if mode == 'dead' then redis.call('XADD', KEYS[4], '*', unpack(f)) end\n"
    "release(id, ents)\n"
    "return mode\n";

/*
 * Keeps a worker's entries from looking abandoned: resets the idle time of
 * each entry (ARGV[3..]) still pending for consumer ARGV[2]; never takes
 * one back from another consumer. KEYS[1] the stream, ARGV[1] the group.
 * Returns the entry ids that are no longer ours.
 */
const char worker_heartbeat_script[] =
    "local lost = {}\n"
    "for i = 3, #ARGV do\n"
    "  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) == 1 then\n"
    "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')\n"
    "  else\n"
    "    lost[#lost + 1] = ARGV[i]\n"
    "  end\n"
    "end\n"
    "return lost\n";

/*
 * Takes over entries idle for ARGV[3] ms (their worker died): XAUTOCLAIM
 * from cursor ARGV[4], at most ARGV[5], for consumer ARGV[2]. Returns
 * {next cursor, {entry id, fields, deliveries}...}.
 */
const char worker_reclaim_script[] =
    "local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])\n"
    "local out = {r[1]}\n"
    "for _, e in ipairs(r[2]) do\n"
    "  if e and e[2] then\n"
    "    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)\n"
    "    out[#out + 1] = {e[1], e[2], p[1] and p[1][4] or 1}\n"
    "  end\n"
    "end\n"
    "return out\n";

/*
 * The scheduler's tick: take or renew the leader lock KEYS[3] for ARGV[3]
 * (ARGV[4] ms); the leader moves up to ARGV[5] due retries from KEYS[4]
 * back to the stream, and looks again at events parked for longer than
 * ARGV[6] ms: one whose predecessor vanished without finishing (deleted by
 * hand, lost by Redis) was woken by nobody; it goes back to the stream if
 * it heads its lists now. Returns -1 when another worker leads, else the
 * number of retries moved.
 */
const char worker_lead_script[] =
    SCRIPT_COMMON
    "local v = redis.call('GET', KEYS[3])\n"
    "if v == ARGV[3] then redis.call('PEXPIRE', KEYS[3], ARGV[4])\n"
    "elseif not v then redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])\n"
    "else return -1 end\n"
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', string.format('%.0f', now_ms()),"
    " 'LIMIT', 0, tonumber(ARGV[5]))\n"
    "for _, id in ipairs(ids) do\n"
    "  redis.call('ZREM', KEYS[4], id)\n"
    "  to_stream(id)\n"
    "end\n"
    "local now = now_ms()\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', parked, '-inf', string.format('%.0f', now - tonumber(ARGV[6])),"
    " 'LIMIT', 0, tonumber(ARGV[5]))) do\n"
    "  if redis.call('HGET', pfx .. 'job:' .. id, 'state') ~= 'parked' then redis.call('ZREM', parked, id)\n"
    "  elseif not wake(id) then redis.call('ZADD', parked, string.format('%.0f', now), id) end\n"
    "end\n"
    "return #ids\n";

/* Gives the leader lock KEYS[1] up if ARGV[1] holds it. */
const char worker_unlead_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

/* Forgets consumer ARGV[2] of group ARGV[1] if nothing is pending for it. */
const char worker_delconsumer_script[] =
    "if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then\n"
    "  return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
    "end\n"
    "return -1\n";

/*
 * Forgets consumers of group ARGV[1] that have nothing pending and have not
 * read for ARGV[2] ms: what restarted and killed workers leave behind.
 */
const char worker_gc_script[] =
    "local n = 0\n"
    "for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do\n"
    "  local m = {}\n"
    "  for i = 1, #c, 2 do m[c[i]] = c[i + 1] end\n"
    "  if tonumber(m['pending']) == 0 and tonumber(m['idle']) > tonumber(ARGV[2]) then\n"
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], m['name'])\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

/*
 * Puts dead entry ARGV[3] of KEYS[3] back into the stream as if it had
 * just been received: attempts start again, the history is kept with a
 * "replayed" record (ARGV[4] = now ms), the event goes to the tail of its
 * entities' sequence lists, and the dead entry is deleted. Returns
 * {event id, new entry id}, or nil if there is no such dead entry.
 */
const char worker_replay_script[] =
    SCRIPT_COMMON
    "local e = redis.call('XRANGE', KEYS[3], ARGV[3], ARGV[3])\n"
    "if #e == 0 then return false end\n"
    "local f = e[1][2]\n"
    "local keep = {id = true, type = true, received_at = true, body = true, entities = true}\n"
    "local args, id, ents, hist = {}, nil, '', '[]'\n"
    "for i = 1, #f, 2 do\n"
    "  if keep[f[i]] then args[#args + 1] = f[i]; args[#args + 1] = f[i + 1] end\n"
    "  if f[i] == 'id' then id = f[i + 1] end\n"
    "  if f[i] == 'entities' then ents = f[i + 1] end\n"
    "  if f[i] == 'history' and string.sub(f[i + 1], 1, 1) == '[' then hist = f[i + 1] end\n"
    "end\n"
    "if not id then return redis.error_reply('dead entry ' .. ARGV[3] .. ' has no event id') end\n"
    "local rec = '{\"replayed_at\":' .. ARGV[4] .. '}'\n"
    "if hist == '[]' then hist = '[' .. rec .. ']' else hist = string.sub(hist, 1, -2) .. ',' .. rec .. ']' end\n"
    "args[#args + 1] = 'history'; args[#args + 1] = hist\n"
    "local sid = redis.call('XADD', ev, '*', unpack(args))\n"
    "if ents ~= '' then\n"
    "  for x in string.gmatch(ents, '%S+') do redis.call('RPUSH', pfx .. 'seq:' .. x, id) end\n"
    "  redis.call('HSET', live, id, sid)\n"
    "end\n"
    "redis.call('XDEL', KEYS[3], ARGV[3])\n"
    "return {id, sid}\n";
