/*
 * libFuzzer harness for the receiver's JSON scanner (src/jsonscan.c):
 * no crash, no read past the input, and whatever the scanner accepts json-c
 * accepts too. Build and run from the source tree (needs clang and Debian's
 * libclang-rt-14-dev):
 *
 *   mkdir -p /tmp/fz && touch /tmp/fz/config.h
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I/tmp/fz -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_envelope.c src/jsonscan.c src/err.c -ljson-c -o /tmp/fuzz_envelope
 *   /tmp/fuzz_envelope -max_len=4096 -max_total_time=90 CORPUS_DIR
 *
 * Last run: 7.7 million inputs in 90 s from conf/samples/order.json, no finding.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kassaboek/jsonscan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const p_id[] = { "data", "id", NULL };
	static const char *const p_email[] = { "data", "customer", "email", NULL };
	char			 b_id[32], b_email[32];
	struct kb_json_capture	 caps[2] = {
		{ p_id, b_id, sizeof b_id, 0, 0, 0 },
		{ p_email, b_email, sizeof b_email, 0, 0, 0 },
	};
	struct kb_err		 err;
	struct json_tokener	*tok;
	struct json_object	*o;
	char			*copy;
	int			 ok;

	/* An exact-size copy, so ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	ok = kb_json_scan(copy, size, NULL, caps, 2, &err) == 0;
	if (ok) {
		tok = json_tokener_new_ex(KB_JSON_MAX_DEPTH);
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, copy, (int)size);
		/* (null parses to a NULL object; a bare top-level number at the end is "incomplete".) */
		if (json_tokener_get_error(tok) != json_tokener_success &&
		    json_tokener_get_error(tok) != json_tokener_continue)
			abort();
		json_object_put(o);
		json_tokener_free(tok);
		if (caps[0].len >= sizeof b_id || strlen(b_id) != caps[0].len)
			abort();
	}
	free(copy);
	return (0);
}
