/*
 * Every behaviour of kassaboek-sandbox that the protocol reference
 * (shared/reference/twinfield-api.md) marks as (inferred), or does not
 * state at all, is decided here, in one place, so that it is easy to change
 * when the real Twinfield is seen to behave otherwise. Each constant names
 * the reference section it comes from.
 */
#ifndef KASSABOEK_SANDBOX_RULES_H
#define KASSABOEK_SANDBOX_RULES_H

/* §3.4: at most 25 children under a batch root (salesinvoices, dimensions, articles, transactions). */
#define SB_RULE_BATCH_MAX		25
/* §3.4 / §7.2: a transaction with more than 1000 lines makes the whole request HTTP 400. */
#define SB_RULE_TRANSACTION_MAX_LINES	1000
/* §3.4: the detail code of that HTTP 400 fault; the reference gives none, so the sandbox uses 400. */
#define SB_RULE_TOO_MANY_LINES_CODE	"400"
/* §5.2: a debtor (DEB) or creditor (CRD) written without <code> gets the next free number, from here up. */
#define SB_RULE_FIRST_DEBTOR_CODE	1000
#define SB_RULE_FIRST_CREDITOR_CODE	2000
/* §5.7: duedate = invoicedate + the customer's financials/duedays, or this many days. */
#define SB_RULE_DEFAULT_DUEDAYS		30
/* §5.7: invoice status when <status> is absent or "default". */
#define SB_RULE_DEFAULT_INVOICE_STATUS	"concept"
/* §5.7: a new invoice number per office and invoice type starts here unless the seed says otherwise. */
#define SB_RULE_FIRST_INVOICE_NUMBER	1
/* §5.8: transaction number = yyyy * SB_RULE_TRANSACTION_SEQ_SCALE + sequence (202400001). */
#define SB_RULE_TRANSACTION_SEQ_SCALE	100000LL
/*
 * §5.6 + DESIGN.md: article codes are digits only (kassaboek's rule for
 * SKUs; Twinfield's own rule was not found). Length limit is the sandbox's.
 */
#define SB_RULE_ARTICLE_CODE_DIGITS_ONLY 1
#define SB_RULE_ARTICLE_CODE_MAX	16
/* Longest code of any master the sandbox accepts (not found in the reference). */
#define SB_RULE_CODE_MAX		16
/*
 * §5.7: an invoice line of an article that has sub-articles must name one
 * (empty subarticle = error); a line of an article without sub-articles must
 * leave it empty.
 */
#define SB_RULE_SUBARTICLE_REQUIRED	1
/* §5.7: a final invoice needs at least one line; a concept may have none. */
#define SB_RULE_FINAL_NEEDS_LINES	1
/*
 * §5.7: invoice lines name their cost centre and project in <dim2> (KPL)
 * and <dim3> (PRJ), as transaction detail lines do (§5.8). The reference's
 * line table lists only dim1; this is the sandbox's choice.
 */
#define SB_RULE_INVOICE_LINE_DIM2_TYPE	"KPL"
#define SB_RULE_INVOICE_LINE_DIM3_TYPE	"PRJ"
/* §5.7: line value = quantity * units * unitspriceexcl, rounded half away from zero to cents. */
/* §5.7: a line's VAT = its value * rate; a vatline's VAT = the sum of its lines' VAT. */
/* §5.6: invoice line vatcode may differ from the article's only if allowchangevatcode is true. */
#define SB_RULE_ENFORCE_ALLOWCHANGEVATCODE 1
/*
 * §5.6: article code "0" on an invoice line is a one-off article with free
 * description, price and VAT code, booked on the office's default revenue account.
 */
#define SB_RULE_ONEOFF_ARTICLE		"0"
/*
 * §4: Finder DIM field 4 searches "address fields". Whether Twinfield
 * includes the e-mail address there is not known; the sandbox does NOT, so
 * a client cannot come to depend on it. Set to 1 to let field 4 match
 * address/email as well (also settable in the seed: "finder_address_includes_email").
 */
#define SB_RULE_FINDER_ADDRESS_INCLUDES_EMAIL 0
/* §4: Finder column headers (localised in Twinfield; Dutch here). */
#define SB_RULE_FINDER_COL_CODE		"Code"
#define SB_RULE_FINDER_COL_NAME		"Naam"
/* §2.1: access-token lifetime in seconds (--token-ttl overrides). */
#define SB_RULE_TOKEN_TTL		3600
/* §2.1: authorization codes from the authorize endpoint live this long and are used once. */
#define SB_RULE_AUTH_CODE_TTL		300
/* §7.3: credits of a query request and of any other request. */
#define SB_RULE_CREDITS_QUERY		1
#define SB_RULE_CREDITS_WRITE		3
/* §7.3: the credit window. A sliding window: no 60 s span ever holds more than the budget. */
#define SB_RULE_CREDIT_WINDOW_MS	60000
/* §7.3: Retry-After of a 429 caused by the concurrency cap, in seconds. */
#define SB_RULE_CONCURRENCY_RETRY_AFTER	1

#endif
