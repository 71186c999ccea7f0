/*
 * libFuzzer harness for the data mapper (src/mapping/). Not part of the
 * automake build; compile it by hand with clang, from any directory that
 * has a configured build (for config.h), e.g. /work/build-mapper:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -D_GNU_SOURCE \
 *       -I/work/main/include -I. \
 *       -DMAP_FUZZ_DEFAULT='"/work/main/conf/mapping/order.json"' \
 *       /work/main/tests/fuzz/fuzz_mapping.c /work/main/src/mapping/map_*.c \
 *       /work/main/src/err.c /work/main/src/xmalloc.c \
 *       $(pkg-config --cflags --libs json-c) -lm -o fuzz_mapping
 *   mkdir -p corpus && cp /work/main/tests/data/mapping/order-modeled.json corpus/
 *   ./fuzz_mapping -max_len=65536 -timeout=10 corpus
 *
 * An input with a NUL byte is "mapping\0event": both are fuzzed (the
 * mapping through map_load_buffer, the event through map_apply if the
 * mapping loaded). An input without one is an event for the default order
 * mapping (MAP_FUZZ_DEFAULT, or $MAP_FUZZ_MAPPING at run time). Errors are
 * expected; crashes, leaks, sanitizer reports and timeouts are bugs.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/map.h"

#ifndef MAP_FUZZ_DEFAULT
#define MAP_FUZZ_DEFAULT "conf/mapping/order.json"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct map	*fuzz_default;

/* book_as = transaction: the default order mapping then builds everything. */
static const char *fuzz_settings[] = {
	"twinfield.office", "001",
	"orders.invoice_type", "FACTUUR",
	"orders.book_as", "transaction",
	"orders.employee_number", "999999",
	NULL
};

static void
fuzz_apply(const struct map *m, const char *ev, size_t len)
{
	struct map_settings	 s = { map_settings_kv_cb, fuzz_settings };
	struct json_tokener	*tok;
	struct json_object	*src, *out = NULL;
	struct kb_err		 err;

	/* Events arrive parsed with json-c's default depth limit. */
	if ((tok = json_tokener_new()) == NULL)
		return;
	src = json_tokener_parse_ex(tok, ev, (int)len);
	json_tokener_free(tok);
	if (src == NULL)
		return;
	if (map_apply(m, src, &s, &out, &err) == 0) {
		/* The target must serialize; touch it all. */
		(void)json_object_to_json_string(out);
		json_object_put(out);
	} else if (out != NULL || err.msg[0] == '\0')
		abort();	/* failure must leave no target and say why */
	json_object_put(src);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*nul, *path;
	struct map	*m;
	struct kb_err	 err;

	if (size > 1024 * 1024)
		return (0);
	nul = memchr(data, '\0', size);
	if (nul != NULL) {
		err.msg[0] = '\0';
		m = map_load_buffer("fuzz.json", (const char *)data,
		    (size_t)(nul - (const char *)data), &err);
		if (m == NULL) {
			if (err.msg[0] == '\0')
				abort();
			return (0);
		}
		fuzz_apply(m, nul + 1, size - (size_t)(nul + 1 - (const char *)data));
		map_free(m);
		return (0);
	}
	if (fuzz_default == NULL) {
		if ((path = getenv("MAP_FUZZ_MAPPING")) == NULL)
			path = MAP_FUZZ_DEFAULT;
		if ((fuzz_default = map_load(path, &err)) == NULL)
			abort();
	}
	fuzz_apply(fuzz_default, (const char *)data, size);
	return (0);
}
