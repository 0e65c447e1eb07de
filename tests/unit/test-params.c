/* Unit tests of src/params.c: every parser of a typed value, canonical printing, and the value
 * helpers (parse_text/strv, equal, copy, list limits). */
#include "error.h"
#include "params.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* ---- helpers ---- */

static char *addr_text(const char *in) {
        LgAddr a;
        g_autoptr(GError) e = NULL;
        if (!lg_parse_addr(in, &a, &e))
                return g_strdup_printf("ERROR: %s", e->message);
        GString *s = g_string_new(NULL);
        lg_addr_format(&a, s);
        return g_string_free(s, FALSE);
}

static char *endpoint_text(const char *in) {
        LgEndpoint ep;
        g_autoptr(GError) e = NULL;
        if (!lg_parse_endpoint(in, &ep, &e))
                return g_strdup_printf("ERROR: %s", e->message);
        GString *s = g_string_new(NULL);
        lg_endpoint_format(&ep, s);
        return g_string_free(s, FALSE);
}

/* The parser must fail with InvalidParameters; returns the message for further checks. */
#define assert_invalid(e)                                                                                        \
        do {                                                                                                     \
                g_assert_nonnull(e);                                                                             \
                g_assert_error((e), LG_ERROR, LG_ERROR_INVALID_PARAMETERS);                                      \
                g_assert_true(g_utf8_validate((e)->message, -1, NULL));                                          \
        } while (0)

/* No raw control character may reach a message (terminals, logs, D-Bus). */
static void assert_printable(const char *msg) {
        for (const char *p = msg; *p; p++)
                g_assert_cmpint((unsigned char) *p, >=, 0x20);
        g_assert_true(g_utf8_validate(msg, -1, NULL));
}

/* ---- types ---- */

static void test_types(void) {
        const char *names[] = {"interface", "interfaces", "addresses", "endpoints", "ports", "bool", "user", "string"};
        g_assert_cmpint(G_N_ELEMENTS(names), ==, _LG_TYPE_MAX);
        for (int i = 0; i < _LG_TYPE_MAX; i++) {
                g_assert_cmpstr(lg_type_to_string(i), ==, names[i]);
                g_assert_cmpint(lg_type_from_string(names[i]), ==, i);
        }
        g_assert_cmpint(lg_type_from_string("Interface"), ==, _LG_TYPE_INVALID);
        g_assert_cmpint(lg_type_from_string(""), ==, _LG_TYPE_INVALID);
        g_assert_cmpstr(lg_type_to_string(_LG_TYPE_INVALID), ==, "invalid");
        g_assert_cmpstr(lg_type_to_string(_LG_TYPE_MAX), ==, "invalid");
        g_assert_true(lg_type_is_list(LG_TYPE_INTERFACES));
        g_assert_true(lg_type_is_list(LG_TYPE_ADDRESSES));
        g_assert_true(lg_type_is_list(LG_TYPE_ENDPOINTS));
        g_assert_true(lg_type_is_list(LG_TYPE_PORTS));
        g_assert_false(lg_type_is_list(LG_TYPE_INTERFACE));
        g_assert_false(lg_type_is_list(LG_TYPE_BOOL));
        g_assert_false(lg_type_is_list(LG_TYPE_USER));
        g_assert_false(lg_type_is_list(LG_TYPE_STRING));
}

/* ---- numbers ---- */

static void test_uint64(void) {
        uint64_t v = 7;
        g_assert_true(lg_parse_uint64("0", 10, &v));
        g_assert_cmpuint(v, ==, 0);
        g_assert_true(lg_parse_uint64("65535", 65535, &v));
        g_assert_cmpuint(v, ==, 65535);
        g_assert_true(lg_parse_uint64("007", 10, &v));
        g_assert_cmpuint(v, ==, 7);
        g_assert_true(lg_parse_uint64("18446744073709551615", UINT64_MAX, &v));
        g_assert_cmpuint(v, ==, UINT64_MAX);
        v = 42;
        g_assert_false(lg_parse_uint64("18446744073709551616", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("65536", 65535, &v));
        g_assert_false(lg_parse_uint64("-1", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("+1", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64(" 1", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("1 ", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("0x10", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("1.5", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64("", UINT64_MAX, &v));
        g_assert_false(lg_parse_uint64(NULL, UINT64_MAX, &v));
        g_assert_cmpuint(v, ==, 42); /* untouched on failure */
}

/* ---- addresses ---- */

static void test_addr_ipv4(void) {
        LgAddr a;
        g_autoptr(GError) e = NULL;
        g_assert_true(lg_parse_addr("192.0.2.1", &a, &e));
        g_assert_no_error(e);
        g_assert_cmpint(a.family, ==, 4);
        const uint8_t one[4] = {192, 0, 2, 1};
        g_assert_cmpmem(a.start, 4, one, 4);
        g_assert_cmpmem(a.end, 4, one, 4);

        g_assert_true(lg_parse_addr("10.0.0.0/8", &a, NULL));
        const uint8_t lo[4] = {10, 0, 0, 0}, hi[4] = {10, 255, 255, 255};
        g_assert_cmpmem(a.start, 4, lo, 4);
        g_assert_cmpmem(a.end, 4, hi, 4);
        int plen = -1;
        g_assert_true(lg_addr_prefix_len(&a, &plen));
        g_assert_cmpint(plen, ==, 8);

        const struct {
                const char *in, *out;
        } ok[] = {
                {"192.0.2.1", "192.0.2.1"},
                {"192.0.2.1/32", "192.0.2.1"},
                {"10.0.0.0/8", "10.0.0.0/8"},
                {"10.0.0.0/08", "10.0.0.0/8"},
                {"0.0.0.0/0", "0.0.0.0/0"},
                {"172.16.0.0/12", "172.16.0.0/12"},
                {"10.0.0.1-10.0.0.5", "10.0.0.1-10.0.0.5"},
                {"10.0.0.0-10.0.0.255", "10.0.0.0/24"}, /* a range that is a prefix prints as one */
                {"10.0.0.7-10.0.0.7", "10.0.0.7"},
                {"0.0.0.0-255.255.255.255", "0.0.0.0/0"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                g_autofree char *got = addr_text(ok[i].in);
                g_assert_cmpstr(got, ==, ok[i].out);
        }

        const struct {
                const char *in, *msg;
        } bad[] = {
                {"300.1.1.1", "'300.1.1.1' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX "
                              "or ADDRESS-ADDRESS"},
                {"10.0.0.1/8", "'10.0.0.1/8' is not a valid address: host bits are set (did you mean 10.0.0.0/8?)"},
                {"192.168.1.1/16", "'192.168.1.1/16' is not a valid address: host bits are set (did you mean "
                                   "192.168.0.0/16?)"},
                {"10.0.0.0/33", "'10.0.0.0/33' is not a valid address: the prefix length must be a number from 0 to 32"},
                {"10.0.0.0/", "'10.0.0.0/' is not a valid address: the prefix length must be a number from 0 to 32"},
                {"10.0.0.0/-1", "'10.0.0.0/-1' is not a valid address: a prefix and a range at once"},
                {"10.0.0.0/x", "'10.0.0.0/x' is not a valid address: the prefix length must be a number from 0 to 32"},
                {"10.0.0.9-10.0.0.1", "'10.0.0.9-10.0.0.1' is not a valid address: the range ends before it starts"},
                {"10.0.0.1-::1", "'10.0.0.1-::1' is not a valid address: the range mixes IPv4 and IPv6"},
                {"10.0.0.1-", "'10.0.0.1-' is not a valid address: expected ADDRESS-ADDRESS"},
                {"10.0.0.0/8-10.1.0.0", "'10.0.0.0/8-10.1.0.0' is not a valid address: a prefix and a range at once"},
                {"", "'' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX or ADDRESS-ADDRESS"},
                {" 10.0.0.1", "' 10.0.0.1' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX "
                              "or ADDRESS-ADDRESS"},
                {"10.1", "'10.1' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX or "
                         "ADDRESS-ADDRESS"},
                {"example.com", "'example.com' is not a valid address: expected an IPv4 or IPv6 address, "
                                "ADDRESS/PREFIX or ADDRESS-ADDRESS"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) err = NULL;
                g_assert_false(lg_parse_addr(bad[i].in, &a, &err));
                assert_invalid(err);
                g_assert_cmpstr(err->message, ==, bad[i].msg);
        }

        /* Too long, and control characters are escaped in the message. */
        g_autofree char *longs = g_strnfill(120, '1');
        g_autoptr(GError) e2 = NULL;
        g_assert_false(lg_parse_addr(longs, &a, &e2));
        assert_invalid(e2);
        g_assert_true(g_str_has_suffix(e2->message, "is not a valid address: too long"));
        g_autoptr(GError) e3 = NULL;
        g_assert_false(lg_parse_addr("10.0.0.1\n\x1b[31m", &a, &e3));
        assert_invalid(e3);
        assert_printable(e3->message);
        g_assert_nonnull(strstr(e3->message, "10.0.0.1\\n\\033[31m"));
}

static void test_addr_ipv6(void) {
        const struct {
                const char *in, *out;
        } ok[] = {
                {"2001:DB8::1", "2001:db8::1"},
                {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
                {"::1", "::1"},
                {"::", "::"},
                {"::/0", "::/0"},
                {"2001:db8:0:0::/32", "2001:db8::/32"},
                {"fe80::/10", "fe80::/10"},
                {"fc00::/7", "fc00::/7"},
                {"ff02::/16", "ff02::/16"},
                {"2001:db8::1/128", "2001:db8::1"},
                {"2001:db8::/127", "2001:db8::/127"},
                {"::1-::5", "::1-::5"},
                {"2001:db8::-2001:db8::ffff", "2001:db8::/112"},
                {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                g_autofree char *got = addr_text(ok[i].in);
                g_assert_cmpstr(got, ==, ok[i].out);
        }

        LgAddr a;
        g_assert_true(lg_parse_addr("fe80::/10", &a, NULL));
        g_assert_cmpint(a.family, ==, 6);
        g_assert_cmpuint(a.start[0], ==, 0xfe);
        g_assert_cmpuint(a.start[1], ==, 0x80);
        g_assert_cmpuint(a.end[0], ==, 0xfe);
        g_assert_cmpuint(a.end[1], ==, 0xbf);
        for (int i = 2; i < 16; i++) {
                g_assert_cmpuint(a.start[i], ==, 0);
                g_assert_cmpuint(a.end[i], ==, 0xff);
        }
        int plen;
        g_assert_true(lg_addr_prefix_len(&a, &plen));
        g_assert_cmpint(plen, ==, 10);

        const struct {
                const char *in, *msg;
        } bad[] = {
                {"2001:db8::/129",
                 "'2001:db8::/129' is not a valid address: the prefix length must be a number from 0 to 128"},
                {"2001:db8::1/32",
                 "'2001:db8::1/32' is not a valid address: host bits are set (did you mean 2001:db8::/32?)"},
                {"fe80::1/10", "'fe80::1/10' is not a valid address: host bits are set (did you mean fe80::/10?)"},
                {"::5-::1", "'::5-::1' is not a valid address: the range ends before it starts"},
                {"::1-127.0.0.1", "'::1-127.0.0.1' is not a valid address: the range mixes IPv4 and IPv6"},
                {"fe80::1%eth0", "'fe80::1%eth0' is not a valid address: expected an IPv4 or IPv6 address, "
                                 "ADDRESS/PREFIX or ADDRESS-ADDRESS"},
                {"2001:db8:::1", "'2001:db8:::1' is not a valid address: expected an IPv4 or IPv6 address, "
                                 "ADDRESS/PREFIX or ADDRESS-ADDRESS"},
                {"[::1]", "'[::1]' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX or "
                          "ADDRESS-ADDRESS"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) err = NULL;
                g_assert_false(lg_parse_addr(bad[i].in, &a, &err));
                assert_invalid(err);
                g_assert_cmpstr(err->message, ==, bad[i].msg);
        }
}

/* lg_addr_format() prints without inet_ntop(); its text must stay inet_ntop()'s, byte for byte (it is
 * what state files, Status and the rules hold). Every pattern of zero and non-zero 16-bit words
 * (where "::" goes, and the ::a.b.c.d and ::ffff:a.b.c.d forms), with word values of every hex
 * length, then random addresses, prefixes and ranges of both families. */
static void check_format(const LgAddr *a) {
        char want[2 * INET6_ADDRSTRLEN + 8], end[INET6_ADDRSTRLEN];
        int af = a->family == 4 ? AF_INET : AF_INET6, plen;
        g_assert_nonnull(inet_ntop(af, a->start, want, INET6_ADDRSTRLEN));
        if (!lg_addr_prefix_len(a, &plen)) {
                g_assert_nonnull(inet_ntop(af, a->end, end, sizeof end));
                g_strlcat(want, "-", sizeof want);
                g_strlcat(want, end, sizeof want);
        } else if (plen != (a->family == 4 ? 32 : 128)) {
                g_autofree char *suffix = g_strdup_printf("/%d", plen);
                g_strlcat(want, suffix, sizeof want);
        }
        g_autoptr(GString) got = g_string_new("x");
        lg_addr_format(a, got);
        g_assert_cmpstr(got->str + 1, ==, want);
}

static void test_addr_format_inet_ntop(void) {
        const unsigned words[] = {1, 0xa, 0x10, 0xff, 0x100, 0xabc, 0x1000, 0xfffe, 0xffff};
        for (unsigned mask = 0; mask < 256; mask++)
                for (size_t v = 0; v < G_N_ELEMENTS(words); v++) {
                        LgAddr a = {.family = 6};
                        for (int i = 0; i < 8; i++) {
                                unsigned w = mask & (1u << i) ? words[(v + (size_t) i) % G_N_ELEMENTS(words)] : 0;
                                a.start[2 * i] = (uint8_t) (w >> 8), a.start[2 * i + 1] = (uint8_t) w;
                        }
                        memcpy(a.end, a.start, 16);
                        check_format(&a);
                        a.start[10] = a.start[11] = 0xff; /* ::ffff:a.b.c.d when words 0-4 are zero */
                        memcpy(a.end, a.start, 16);
                        check_format(&a);
                }
        GRand *r = g_rand_new_with_seed(7);
        for (int n = 0; n < 20000; n++) {
                LgAddr a = {.family = n % 2 ? 4 : 6};
                int nbytes = a.family == 4 ? 4 : 16;
                for (int i = 0; i < nbytes; i++)
                        /* Mostly zero bytes in IPv6, so that runs of zero words are common. */
                        a.start[i] = a.family == 6 && g_rand_int_range(r, 0, 3) ? 0 : (uint8_t) g_rand_int(r);
                memcpy(a.end, a.start, 16);
                int kind = g_rand_int_range(r, 0, 3);
                if (kind == 1) { /* a prefix */
                        int plen = g_rand_int_range(r, 0, nbytes * 8 + 1);
                        for (int bit = plen; bit < nbytes * 8; bit++) {
                                a.start[bit / 8] &= (uint8_t) ~(0x80 >> bit % 8);
                                a.end[bit / 8] |= (uint8_t) (0x80 >> bit % 8);
                        }
                } else if (kind == 2) /* a range, most often not a prefix */
                        for (int i = g_rand_int_range(r, 0, nbytes); i < nbytes; i++)
                                a.end[i] = (uint8_t) MAX(a.start[i], (uint8_t) g_rand_int(r));
                check_format(&a);
        }
        g_rand_free(r);
}

/* lg_parse_addr() reads IPv4 without inet_pton(); it must accept exactly what inet_pton() accepts
 * (four decimal octets, none above 255, no leading zero, nothing else) and give the same bytes,
 * and leave anything with a ':' to inet_pton(AF_INET6) as before. */
static void check_parse_ip(const char *s) {
        uint8_t want[16] = {0};
        int af = strchr(s, ':') ? AF_INET6 : AF_INET;
        bool ok = inet_pton(af, s, want) == 1;
        LgAddr a;
        bool got = lg_parse_addr(s, &a, NULL);
        if (got != ok)
                g_error("'%s': lg_parse_addr %s, inet_pton %s", s, got ? "accepts" : "refuses", ok ? "accepts" : "refuses");
        if (ok) {
                g_assert_cmpint(a.family, ==, af == AF_INET ? 4 : 6);
                g_assert_cmpmem(a.start, 16, want, 16);
        }
}

static void test_addr_parse_inet_pton(void) {
        const char *edge[] = {"0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04",
                              "1.2.3.0", "1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "1.2.3.4 ",
                              "1.2.3.4x", "1.2.3.4:5", "::1.2.3.4", "::ffff:1.2.3.4", "1.2.3.4::", "999.1.1.1",
                              "1.2.3.1000", "0.0.0.00", "00.0.0.0", "1.2.3.-4", "+1.2.3.4", "1.2.3.4\t", ":", "::",
                              "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "12345::", "a.b.c.d", "0x1.2.3.4", ""};
        for (size_t i = 0; i < G_N_ELEMENTS(edge); i++)
                check_parse_ip(edge[i]);
        const char alphabet[] = "0123456789012345678901234567890123456789.....:::abfx ";
        GRand *r = g_rand_new_with_seed(11);
        char buf[24];
        for (int n = 0; n < 200000; n++) {
                int len = g_rand_int_range(r, 0, 20);
                for (int i = 0; i < len; i++)
                        buf[i] = alphabet[g_rand_int_range(r, 0, (int) sizeof alphabet - 1)];
                buf[len] = '\0';
                check_parse_ip(buf);
        }
        /* Valid ones are rare among random strings: also every address printed from random bytes, and
         * the same with one character changed. */
        for (int n = 0; n < 20000; n++) {
                uint8_t b[4];
                for (int i = 0; i < 4; i++)
                        b[i] = (uint8_t) g_rand_int_range(r, 0, n % 2 ? 256 : 12);
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, b, text, sizeof text);
                check_parse_ip(text);
                text[g_rand_int_range(r, 0, (int) strlen(text))] = alphabet[g_rand_int_range(r, 0, (int) sizeof alphabet - 1)];
                check_parse_ip(text);
        }
        g_rand_free(r);
}

static void test_addr_helpers(void) {
        LgAddr a, b, c;
        g_assert_true(lg_parse_addr("10.0.0.1", &a, NULL));
        g_assert_true(lg_parse_addr("10.0.0.2-10.0.0.9", &b, NULL));
        g_assert_true(lg_parse_addr("::", &c, NULL));
        g_assert_cmpint(lg_addr_compare_start(&a, &b), <, 0);
        g_assert_cmpint(lg_addr_compare_start(&b, &a), >, 0);
        g_assert_cmpint(lg_addr_compare_start(&a, &a), ==, 0);
        /* IPv4 sorts before IPv6, whatever the bytes. */
        g_assert_cmpint(lg_addr_compare_start(&a, &c), <, 0);
        g_assert_cmpint(lg_addr_compare_start(&c, &a), >, 0);

        int plen = -1;
        g_assert_true(lg_addr_prefix_len(&a, &plen));
        g_assert_cmpint(plen, ==, 32);
        g_assert_false(lg_addr_prefix_len(&b, &plen));
        g_assert_true(lg_parse_addr("10.0.0.0-10.0.1.255", &b, NULL));
        g_assert_true(lg_addr_prefix_len(&b, &plen));
        g_assert_cmpint(plen, ==, 23);
        g_assert_true(lg_parse_addr("10.0.0.0-10.0.2.255", &b, NULL));
        g_assert_false(lg_addr_prefix_len(&b, &plen));
        g_assert_true(lg_parse_addr("10.0.0.1-10.0.1.255", &b, NULL));
        g_assert_false(lg_addr_prefix_len(&b, &plen));
        g_assert_true(lg_parse_addr("::/0", &c, NULL));
        g_assert_true(lg_addr_prefix_len(&c, &plen));
        g_assert_cmpint(plen, ==, 0);
}

/* ---- endpoints ---- */

static void test_endpoint(void) {
        LgEndpoint ep;
        g_assert_true(lg_parse_endpoint("198.51.100.7", &ep, NULL));
        g_assert_cmpint(ep.addr.family, ==, 4);
        g_assert_cmpint(ep.port, ==, -1);
        g_assert_cmpint(ep.proto, ==, -1);
        g_assert_cmpmem(ep.addr.start, 16, ep.addr.end, 16);

        g_assert_true(lg_parse_endpoint("198.51.100.7:51820/udp", &ep, NULL));
        g_assert_cmpint(ep.port, ==, 51820);
        g_assert_cmpint(ep.proto, ==, IPPROTO_UDP);

        g_assert_true(lg_parse_endpoint("[2001:db8::1]:443/tcp", &ep, NULL));
        g_assert_cmpint(ep.addr.family, ==, 6);
        g_assert_cmpint(ep.port, ==, 443);
        g_assert_cmpint(ep.proto, ==, IPPROTO_TCP);

        g_assert_true(lg_parse_endpoint("2001:db8::1/udp", &ep, NULL));
        g_assert_cmpint(ep.addr.family, ==, 6);
        g_assert_cmpint(ep.port, ==, -1);
        g_assert_cmpint(ep.proto, ==, IPPROTO_UDP);

        const struct {
                const char *in, *out;
        } ok[] = {
                {"198.51.100.7", "198.51.100.7"},
                {"198.51.100.7:51820", "198.51.100.7:51820"},
                {"198.51.100.7:51820/udp", "198.51.100.7:51820/udp"},
                {"198.51.100.7/tcp", "198.51.100.7/tcp"},
                {"198.51.100.7:1", "198.51.100.7:1"},
                {"198.51.100.7:65535/tcp", "198.51.100.7:65535/tcp"},
                {"2001:db8::1", "2001:db8::1"},
                {"2001:DB8:0::1", "2001:db8::1"},
                {"[2001:db8::1]", "2001:db8::1"},
                {"[2001:DB8::1]:51820/udp", "[2001:db8::1]:51820/udp"},
                {"[::1]:53", "[::1]:53"},
                {"2001:db8::1/udp", "2001:db8::1/udp"},
                {"[2001:db8::1]/tcp", "2001:db8::1/tcp"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                g_autofree char *got = endpoint_text(ok[i].in);
                g_assert_cmpstr(got, ==, ok[i].out);
        }

        const struct {
                const char *in, *msg;
        } bad[] = {
                {"198.51.100.7:0", "endpoint '198.51.100.7:0': port '0' is not a number from 1 to 65535"},
                {"198.51.100.7:65536", "endpoint '198.51.100.7:65536': port '65536' is not a number from 1 to 65535"},
                {"198.51.100.7:", "endpoint '198.51.100.7:': port '' is not a number from 1 to 65535"},
                {"[::1]:0/udp", "endpoint '[::1]:0/udp': port '0' is not a number from 1 to 65535"},
                {"198.51.100.0/24", "endpoint '198.51.100.0/24': expected ADDRESS[:PORT][/udp|/tcp], '24' is not udp "
                                    "or tcp (an endpoint is one address, not a prefix)"},
                {"198.51.100.7:53/icmp", "endpoint '198.51.100.7:53/icmp': expected ADDRESS[:PORT][/udp|/tcp], 'icmp' "
                                         "is not udp or tcp (an endpoint is one address, not a prefix)"},
                {"198.51.100.7/UDP", "endpoint '198.51.100.7/UDP': expected ADDRESS[:PORT][/udp|/tcp], 'UDP' is not "
                                     "udp or tcp (an endpoint is one address, not a prefix)"},
                {"[::1", "endpoint '[::1': expected [IPV6]:PORT"},
                {"[::1]53", "endpoint '[::1]53': expected [IPV6]:PORT"},
                {"vpn.example:51820", "endpoint 'vpn.example:51820': 'vpn.example' is not an IPv4 or IPv6 address "
                                      "(expected ADDRESS[:PORT][/udp|/tcp], IPv6 with a port as [ADDRESS]:PORT)"},
                {"", "endpoint '': '' is not an IPv4 or IPv6 address (expected ADDRESS[:PORT][/udp|/tcp], IPv6 with "
                     "a port as [ADDRESS]:PORT)"},
                {"10.0.0.1-10.0.0.2", "endpoint '10.0.0.1-10.0.0.2': '10.0.0.1-10.0.0.2' is not an IPv4 or IPv6 "
                                      "address (expected ADDRESS[:PORT][/udp|/tcp], IPv6 with a port as "
                                      "[ADDRESS]:PORT)"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) err = NULL;
                g_assert_false(lg_parse_endpoint(bad[i].in, &ep, &err));
                assert_invalid(err);
                g_assert_cmpstr(err->message, ==, bad[i].msg);
        }

        /* Every part of the input that a message quotes is escaped. */
        const char *hostile[] = {"198.51.100.7:5\x1b[2J", "198.51.100.7/\x1b[2J", "\x1b[2J:53", "1.2.3.4:\n"};
        for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
                g_autoptr(GError) err = NULL;
                g_assert_false(lg_parse_endpoint(hostile[i], &ep, &err));
                assert_invalid(err);
                assert_printable(err->message);
        }
        g_autofree char *longs = g_strnfill(150, '1');
        g_autoptr(GError) e = NULL;
        g_assert_false(lg_parse_endpoint(longs, &ep, &e));
        assert_invalid(e);
        g_assert_true(g_str_has_suffix(e->message, "…' is too long"));
}

/* ---- ports ---- */

static void test_ports(void) {
        LgPortRange r;
        g_assert_true(lg_parse_port_range("53", &r, NULL));
        g_assert_cmpuint(r.lo, ==, 53);
        g_assert_cmpuint(r.hi, ==, 53);
        g_assert_true(lg_parse_port_range("0", &r, NULL));
        g_assert_cmpuint(r.lo, ==, 0);
        g_assert_true(lg_parse_port_range("65535", &r, NULL));
        g_assert_cmpuint(r.hi, ==, 65535);
        g_assert_true(lg_parse_port_range("1024-65535", &r, NULL));
        g_assert_cmpuint(r.lo, ==, 1024);
        g_assert_cmpuint(r.hi, ==, 65535);
        g_assert_true(lg_parse_port_range("80-80", &r, NULL));
        g_assert_cmpuint(r.lo, ==, 80);
        g_assert_cmpuint(r.hi, ==, 80);

        const char *bad[] = {"70000", "65536", "5-3", "-1", "1-", "-", "", "a", "1--2", "1-2-3", " 1", "1 ", "0x50",
                             "+5", "1,2"};
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) e = NULL;
                g_assert_false(lg_parse_port_range(bad[i], &r, &e));
                assert_invalid(e);
                g_autofree char *esc = g_strescape(bad[i], NULL);
                g_autofree char *want = g_strdup_printf(
                        "'%s' is not a port: expected a number from 0 to 65535 or a range A-B with A <= B", esc);
                g_assert_cmpstr(e->message, ==, want);
        }
}

/* ---- bool ---- */

static void test_bool(void) {
        const char *yes[] = {"true", "yes", "1", "on"};
        const char *no[] = {"false", "no", "0", "off"};
        for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
                bool b = false;
                g_assert_true(lg_parse_bool(yes[i], &b, NULL));
                g_assert_true(b);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
                bool b = true;
                g_assert_true(lg_parse_bool(no[i], &b, NULL));
                g_assert_false(b);
        }
        const char *bad[] = {"maybe", "True", "FALSE", "", "2", " true", "y"};
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                bool b;
                g_autoptr(GError) e = NULL;
                g_assert_false(lg_parse_bool(bad[i], &b, &e));
                assert_invalid(e);
                g_autofree char *want = g_strdup_printf("'%s' is not a bool: expected true or false", bad[i]);
                g_assert_cmpstr(e->message, ==, want);
        }
}

/* ---- users and groups ---- */

static void test_user(void) {
        uint32_t id = 1;
        g_assert_true(lg_parse_user("0", &id, NULL));
        g_assert_cmpuint(id, ==, 0);
        id = 1;
        g_assert_true(lg_parse_user("root", &id, NULL));
        g_assert_cmpuint(id, ==, 0);
        /* Numbers are taken without a lookup: the account may be created later. */
        g_assert_true(lg_parse_user("54321", &id, NULL));
        g_assert_cmpuint(id, ==, 54321);
        g_assert_true(lg_parse_user("4294967294", &id, NULL));
        g_assert_cmpuint(id, ==, 4294967294u);

        const char *bad[] = {"4294967295", "no-such-user-leakguard", "", "root;x", "-1", "root "};
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) e = NULL;
                g_assert_false(lg_parse_user(bad[i], &id, &e));
                assert_invalid(e);
                g_autofree char *want = g_strdup_printf("'%s' is not a uid or a known user name", bad[i]);
                g_assert_cmpstr(e->message, ==, want);
        }
        g_autoptr(GError) e = NULL;
        g_assert_false(lg_parse_user("root\x1b", &id, &e));
        assert_printable(e->message);

        id = 1;
        g_assert_true(lg_parse_group("root", &id, NULL));
        g_assert_cmpuint(id, ==, 0);
        g_assert_true(lg_parse_group("100", &id, NULL));
        g_assert_cmpuint(id, ==, 100);
        g_autoptr(GError) e2 = NULL;
        g_assert_false(lg_parse_group("no-such-group-leakguard", &id, &e2));
        assert_invalid(e2);
        g_assert_cmpstr(e2->message, ==, "'no-such-group-leakguard' is not a gid or a known group name");
}

/* ---- interfaces ---- */

static void test_interface(void) {
        const char *ok[] = {"wg0", "lo", "eth0.100", "tun_vpn-1", "br@x+", "abcdefghijklmno" /* 15 bytes */};
        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                g_autofree char *name = NULL;
                g_autoptr(GError) e = NULL;
                g_assert_true(lg_parse_interface(ok[i], false, &name, &e));
                g_assert_no_error(e);
                g_assert_cmpstr(name, ==, ok[i]);
        }
        /* Wildcards: a prefix and a trailing '*', only where allowed. */
        g_autofree char *w = NULL;
        g_assert_true(lg_parse_interface("wg*", true, &w, NULL));
        g_assert_cmpstr(w, ==, "wg*");
        g_autofree char *w15 = NULL;
        g_assert_true(lg_parse_interface("abcdefghijklmn*", true, &w15, NULL));

        const struct {
                const char *in;
                bool wildcard;
                const char *msg;
        } bad[] = {
                {"wg*", false, "interface name 'wg*' contains '*'; allowed are letters, digits and _-.@+"},
                {"w*g", true, "interface name 'w*g' contains '*'; allowed are letters, digits and _-.@+ (and a "
                              "trailing '*')"},
                {"wg**", true, "interface name 'wg**' contains '*'; allowed are letters, digits and _-.@+ (and a "
                               "trailing '*')"},
                {"*", true, "interface name '*' would match every interface: a wildcard needs a prefix, such as wg*"},
                {"*", false, "interface name '*' contains '*'; allowed are letters, digits and _-.@+"},
                {"", true, "empty interface name"},
                {"", false, "empty interface name"},
                {"abcdefghijklmnop", false, "interface name 'abcdefghijklmnop' is 16 bytes long, the kernel allows at "
                                            "most 15"},
                {"abcdefghijklmno*", true, "interface name 'abcdefghijklmno*' is 16 bytes long, the kernel allows at "
                                           "most 15"},
                {".", false, "'.' is not a valid interface name"},
                {"..", true, "'..' is not a valid interface name"},
                {"wg 0", false, "interface name 'wg 0' contains ' '; allowed are letters, digits and _-.@+"},
                {"wg0/1", false, "interface name 'wg0/1' contains '/'; allowed are letters, digits and _-.@+"},
                {"wg0:1", false, "interface name 'wg0:1' contains ':'; allowed are letters, digits and _-.@+"},
                {"wg0\"", false, "interface name 'wg0\\\"' contains '\"'; allowed are letters, digits and _-.@+"},
                {"wg0\" ; flush ruleset ; \"", false,
                 "interface name 'wg0\\\" ; flush ruleset ; \\\"' is 24 bytes long, the kernel allows at most 15"},
                {"wg\n0", false, "interface name 'wg\\n0' contains '?'; allowed are letters, digits and _-.@+"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *name = NULL;
                g_autoptr(GError) e = NULL;
                g_assert_false(lg_parse_interface(bad[i].in, bad[i].wildcard, &name, &e));
                g_assert_null(name);
                assert_invalid(e);
                g_assert_cmpstr(e->message, ==, bad[i].msg);
        }

        /* Long names with control characters or multi-byte characters: the message stays printable
         * and valid UTF-8 however it is cut. */
        GString *s = g_string_new(NULL);
        for (int i = 0; i < 30; i++)
                g_string_append(s, "é");
        g_string_append(s, "\x1b[2J");
        g_autofree char *name = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_false(lg_parse_interface(s->str, true, &name, &e));
        assert_invalid(e);
        assert_printable(e->message);
        g_assert_nonnull(strstr(e->message, "is 64 bytes long, the kernel allows at most 15"));
        g_string_free(s, TRUE);
}

/* ---- strings ---- */

static void test_string(void) {
        g_autofree char *s = NULL;
        g_assert_true(lg_parse_string("hello world", &s, NULL));
        g_assert_cmpstr(s, ==, "hello world");
        g_autofree char *empty = NULL;
        g_assert_true(lg_parse_string("", &empty, NULL));
        g_assert_cmpstr(empty, ==, "");
        g_autofree char *utf = NULL;
        g_assert_true(lg_parse_string("café ☕", &utf, NULL));
        g_assert_cmpstr(utf, ==, "café ☕");
        g_autofree char *max = g_strnfill(LG_MAX_STRING_LEN, 'x');
        g_autofree char *maxv = NULL;
        g_assert_true(lg_parse_string(max, &maxv, NULL));

        const struct {
                const char *in, *msg;
        } bad[] = {
                {"a\nb", "string contains a control character at byte 1"},
                {"\tx", "string contains a control character at byte 0"},
                {"ab\x1b[31m", "string contains a control character at byte 2"},
                {"del\x7f", "string contains a control character at byte 3"},
                {"caf\xe9", "string is not valid UTF-8"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *v = NULL;
                g_autoptr(GError) e = NULL;
                g_assert_false(lg_parse_string(bad[i].in, &v, &e));
                g_assert_null(v);
                assert_invalid(e);
                g_assert_cmpstr(e->message, ==, bad[i].msg);
        }
        g_autofree char *over = g_strnfill(LG_MAX_STRING_LEN + 1, 'x');
        g_autofree char *v = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_false(lg_parse_string(over, &v, &e));
        assert_invalid(e);
        g_assert_cmpstr(e->message, ==, "string of 257 bytes, at most 256 allowed");
}

/* ---- values ---- */

static char *value_text(LgType type, const char *text) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgValue) v = lg_value_parse_text(type, text, &e);
        if (!v)
                return g_strdup_printf("ERROR: %s", e->message);
        g_assert_no_error(e);
        g_assert_cmpint(v->type, ==, type);
        return lg_value_to_string(v);
}

static void test_parse_text(void) {
        const struct {
                LgType type;
                const char *in, *out;
        } cases[] = {
                {LG_TYPE_INTERFACE, "wg0", "wg0"},
                {LG_TYPE_INTERFACE, "wg*", "wg*"},
                {LG_TYPE_INTERFACES, "wg0, tun*\teth0\n", "wg0,tun*,eth0"},
                {LG_TYPE_INTERFACES, "", ""},
                {LG_TYPE_ADDRESSES, "10.0.0.1, 10.0.0.0/8  2001:DB8::/32", "10.0.0.1,10.0.0.0/8,2001:db8::/32"},
                {LG_TYPE_ADDRESSES, " , ,", ""},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:51820/udp,[2001:db8::1]:51820/udp",
                 "198.51.100.7:51820/udp,[2001:db8::1]:51820/udp"},
                {LG_TYPE_PORTS, "53,853 1000-2000", "53,853,1000-2000"},
                {LG_TYPE_BOOL, "yes", "true"},
                {LG_TYPE_BOOL, "off", "false"},
                {LG_TYPE_USER, "root", "0"},
                {LG_TYPE_USER, "1000", "1000"},
                {LG_TYPE_STRING, "a, b c", "a, b c"}, /* scalars are not split */
                {LG_TYPE_INTERFACE, "wg0,wg1",
                 "ERROR: interface name 'wg0,wg1' contains ','; allowed are letters, digits and _-.@+ (and a trailing "
                 "'*')"},
                {LG_TYPE_INTERFACE, "", "ERROR: empty interface name"},
                {LG_TYPE_ADDRESSES, "10.0.0.1, 300.0.0.1",
                 "ERROR: '300.0.0.1' is not a valid address: expected an IPv4 or IPv6 address, ADDRESS/PREFIX or "
                 "ADDRESS-ADDRESS"},
                {LG_TYPE_PORTS, "53,70000",
                 "ERROR: '70000' is not a port: expected a number from 0 to 65535 or a range A-B with A <= B"},
                {LG_TYPE_BOOL, "maybe", "ERROR: 'maybe' is not a bool: expected true or false"},
                {LG_TYPE_STRING, "a\nb", "ERROR: string contains a control character at byte 1"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *got = value_text(cases[i].type, cases[i].in);
                g_assert_cmpstr(got, ==, cases[i].out);
        }
}

static void test_parse_strv(void) {
        const char *addrs[] = {"10.0.0.0/8", "fe80::/10", "192.0.2.1-192.0.2.9"};
        g_autoptr(GError) e = NULL;
        g_autoptr(LgValue) v = lg_value_parse_strv(LG_TYPE_ADDRESSES, addrs, G_N_ELEMENTS(addrs), &e);
        g_assert_no_error(e);
        g_assert_nonnull(v);
        g_assert_cmpuint(v->addrs->len, ==, 3);
        g_autoptr(GPtrArray) strv = lg_value_to_strv(v);
        g_assert_cmpuint(strv->len, ==, 3);
        g_assert_cmpstr(strv->pdata[0], ==, "10.0.0.0/8");
        g_assert_cmpstr(strv->pdata[1], ==, "fe80::/10");
        g_assert_cmpstr(strv->pdata[2], ==, "192.0.2.1-192.0.2.9");

        /* Items from D-Bus are not split: a comma is part of the (bad) item. */
        const char *comma[] = {"wg0,wg1"};
        g_autoptr(GError) e1 = NULL;
        g_assert_null(lg_value_parse_strv(LG_TYPE_INTERFACES, comma, 1, &e1));
        assert_invalid(e1);

        /* Scalars take exactly one item. */
        const char *two[] = {"wg0", "wg1"};
        g_autoptr(GError) e2 = NULL;
        g_assert_null(lg_value_parse_strv(LG_TYPE_INTERFACE, two, 2, &e2));
        assert_invalid(e2);
        g_assert_cmpstr(e2->message, ==, "an interface takes exactly one value, got 2");
        g_autoptr(GError) e3 = NULL;
        g_assert_null(lg_value_parse_strv(LG_TYPE_BOOL, NULL, 0, &e3));
        assert_invalid(e3);
        g_assert_cmpstr(e3->message, ==, "a bool takes exactly one value, got 0");

        /* An empty list is a list. */
        g_autoptr(LgValue) none = lg_value_parse_strv(LG_TYPE_PORTS, NULL, 0, NULL);
        g_assert_nonnull(none);
        g_assert_cmpuint(none->ports->len, ==, 0);
        g_autofree char *txt = lg_value_to_string(none);
        g_assert_cmpstr(txt, ==, "");

        /* An interface value holds one name only, even when items are added one by one. */
        g_autoptr(LgValue) one = lg_value_new(LG_TYPE_INTERFACE);
        g_assert_true(lg_value_add_item(one, "wg0", NULL));
        g_autoptr(GError) e4 = NULL;
        g_assert_false(lg_value_add_item(one, "wg1", &e4));
        assert_invalid(e4);
        g_assert_cmpstr(e4->message, ==, "expected one interface, got several");

        /* Scalars: the last item wins. */
        g_autoptr(LgValue) str = lg_value_new(LG_TYPE_STRING);
        g_assert_true(lg_value_add_item(str, "a", NULL));
        g_assert_true(lg_value_add_item(str, "b", NULL));
        g_assert_cmpstr(str->string, ==, "b");
}

static void test_to_strv(void) {
        g_autoptr(LgValue) b = lg_value_parse_text(LG_TYPE_BOOL, "1", NULL);
        g_autoptr(GPtrArray) bs = lg_value_to_strv(b);
        g_assert_cmpuint(bs->len, ==, 1);
        g_assert_cmpstr(bs->pdata[0], ==, "true");

        g_autoptr(LgValue) s = lg_value_new(LG_TYPE_STRING); /* never set */
        g_autoptr(GPtrArray) ss = lg_value_to_strv(s);
        g_assert_cmpuint(ss->len, ==, 1);
        g_assert_cmpstr(ss->pdata[0], ==, "");

        g_autoptr(LgValue) p = lg_value_parse_text(LG_TYPE_PORTS, "0-65535,8", NULL);
        g_autofree char *pt = lg_value_to_string(p);
        g_assert_cmpstr(pt, ==, "0-65535,8");

        g_autoptr(LgValue) u = lg_value_parse_text(LG_TYPE_USER, "4294967294", NULL);
        g_autofree char *ut = lg_value_to_string(u);
        g_assert_cmpstr(ut, ==, "4294967294");
}

/* lg_value_canonical() is lg_value_to_strv() kept as one block: the same items for every type, an
 * empty list included, made once (the same pointer each time), and copies do not share it. */
static void test_canonical(void) {
        const struct {
                LgType type;
                const char *text;
        } samples[] = {
                {LG_TYPE_INTERFACE, "wg0"},
                {LG_TYPE_INTERFACES, "wg0,tun*"},
                {LG_TYPE_ADDRESSES, "10.0.0.0/8,::1,192.0.2.1-192.0.2.9,2001:db8::/32"},
                {LG_TYPE_ADDRESSES, ""},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:51820/udp,[2001:db8::1]:443"},
                {LG_TYPE_PORTS, "53,1000-2000"},
                {LG_TYPE_BOOL, "true"},
                {LG_TYPE_USER, "0"},
                {LG_TYPE_STRING, "a b;c\\d"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
                g_autoptr(GError) e = NULL;
                g_autoptr(LgValue) v = lg_value_parse_text(samples[i].type, samples[i].text, &e);
                g_assert_no_error(e);
                g_autoptr(GPtrArray) want = lg_value_to_strv(v);
                const char *const *got = lg_value_canonical(v);
                g_assert_cmpuint(g_strv_length((char **) got), ==, want->len);
                for (guint j = 0; j < want->len; j++)
                        g_assert_cmpstr(got[j], ==, want->pdata[j]);
                g_assert_true(lg_value_canonical(v) == got);
                g_autoptr(LgValue) c = lg_value_copy(v);
                g_assert_true(lg_value_canonical(c) != got);
                g_assert_true(g_strv_equal(lg_value_canonical(c), got));
        }
}

static void test_equal_copy(void) {
        const struct {
                LgType type;
                const char *text;
        } samples[] = {
                {LG_TYPE_INTERFACE, "wg0"},
                {LG_TYPE_INTERFACES, "wg0,tun*"},
                {LG_TYPE_ADDRESSES, "10.0.0.0/8,::1"},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:51820/udp,[2001:db8::1]:443"},
                {LG_TYPE_PORTS, "53,1000-2000"},
                {LG_TYPE_BOOL, "true"},
                {LG_TYPE_USER, "1000"},
                {LG_TYPE_STRING, "hello"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
                g_autoptr(LgValue) v = lg_value_parse_text(samples[i].type, samples[i].text, NULL);
                g_assert_nonnull(v);
                g_autoptr(LgValue) c = lg_value_copy(v);
                g_assert_true(lg_value_equal(v, c));
                g_assert_true(lg_value_equal(c, v));
                g_assert_true(lg_value_equal(v, v));
                /* A deep copy: no shared storage. */
                g_assert_true(v->names == NULL || v->names != c->names);
                g_assert_true(v->addrs == NULL || v->addrs != c->addrs);
                g_assert_true(v->endpoints == NULL || v->endpoints != c->endpoints);
                g_assert_true(v->ports == NULL || v->ports != c->ports);
                g_assert_true(v->string == NULL || v->string != c->string);
                g_autofree char *a = lg_value_to_string(v);
                g_autofree char *b = lg_value_to_string(c);
                g_assert_cmpstr(a, ==, b);
                /* Every sample differs from every other. */
                for (size_t j = 0; j < G_N_ELEMENTS(samples); j++) {
                        if (j == i)
                                continue;
                        g_autoptr(LgValue) w = lg_value_parse_text(samples[j].type, samples[j].text, NULL);
                        g_assert_false(lg_value_equal(v, w));
                }
        }

        /* Same type, different contents. */
        const struct {
                LgType type;
                const char *a, *b;
        } diff[] = {
                {LG_TYPE_INTERFACE, "wg0", "wg1"},
                {LG_TYPE_INTERFACES, "wg0", "wg0,wg1"},
                {LG_TYPE_INTERFACES, "wg0,wg1", "wg1,wg0"},
                {LG_TYPE_ADDRESSES, "10.0.0.0/8", "10.0.0.0/9"},
                {LG_TYPE_ADDRESSES, "10.0.0.1", ""},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:51820/udp", "198.51.100.7:51820/tcp"},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:51820", "198.51.100.7:51821"},
                {LG_TYPE_ENDPOINTS, "198.51.100.7", "198.51.100.8"},
                {LG_TYPE_PORTS, "53", "54"},
                {LG_TYPE_BOOL, "true", "false"},
                {LG_TYPE_USER, "0", "1"},
                {LG_TYPE_STRING, "a", "b"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(diff); i++) {
                g_autoptr(LgValue) a = lg_value_parse_text(diff[i].type, diff[i].a, NULL);
                g_autoptr(LgValue) b = lg_value_parse_text(diff[i].type, diff[i].b, NULL);
                g_assert_nonnull(a);
                g_assert_nonnull(b);
                g_assert_false(lg_value_equal(a, b));
        }

        /* Two parses of the same text, and the canonical text of a value, are equal. */
        g_autoptr(LgValue) x = lg_value_parse_text(LG_TYPE_ENDPOINTS, "[2001:DB8::1]:53/udp 198.51.100.7", NULL);
        g_autofree char *canon = lg_value_to_string(x);
        g_autoptr(LgValue) y = lg_value_parse_text(LG_TYPE_ENDPOINTS, canon, NULL);
        g_assert_true(lg_value_equal(x, y));

        /* Endpoints that differ only in their struct padding are equal: the padding after LgAddr is
         * not part of the value (struct copies and initializers leave it indeterminate). */
        LgEndpoint e1, e2;
        memset(&e1, 0xaa, sizeof e1);
        memset(&e2, 0x55, sizeof e2);
        g_assert_true(lg_parse_addr("198.51.100.7", &e1.addr, NULL));
        g_assert_true(lg_parse_addr("198.51.100.7", &e2.addr, NULL));
        e1.proto = e2.proto = IPPROTO_UDP;
        e1.port = e2.port = 51820;
        g_autoptr(LgValue) p1 = lg_value_new(LG_TYPE_ENDPOINTS);
        g_autoptr(LgValue) p2 = lg_value_new(LG_TYPE_ENDPOINTS);
        g_array_append_val(p1->endpoints, e1);
        g_array_append_val(p2->endpoints, e2);
        g_assert_true(lg_value_equal(p1, p2));
}

/* Exactly LG_MAX_LIST_ITEMS items fit in one list; one more is refused. The arrays are grown
 * directly (the items' contents do not matter), so the test stays fast. */
static void test_list_limit(void) {
        g_assert_cmpuint(LG_MAX_LIST_ITEMS, ==, 2000000u);
        const struct {
                LgType type;
                const char *item;
        } cases[] = {
                {LG_TYPE_PORTS, "53"},
                {LG_TYPE_ADDRESSES, "10.0.0.1"},
                {LG_TYPE_ENDPOINTS, "198.51.100.7:53"},
                {LG_TYPE_INTERFACES, "wg0"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(LgValue) v = lg_value_new(cases[i].type);
                if (v->names)
                        g_ptr_array_set_size(v->names, LG_MAX_LIST_ITEMS - 1);
                else if (v->addrs)
                        g_array_set_size(v->addrs, LG_MAX_LIST_ITEMS - 1);
                else if (v->endpoints)
                        g_array_set_size(v->endpoints, LG_MAX_LIST_ITEMS - 1);
                else
                        g_array_set_size(v->ports, LG_MAX_LIST_ITEMS - 1);
                g_autoptr(GError) e = NULL;
                g_assert_true(lg_value_add_item(v, cases[i].item, &e));
                g_assert_no_error(e);
                g_assert_false(lg_value_add_item(v, cases[i].item, &e));
                assert_invalid(e);
                g_assert_cmpstr(e->message, ==, "more than 2000000 items in one list");
        }

        /* And through the parsers, with real items. */
        GPtrArray *items = g_ptr_array_new();
        for (guint i = 0; i <= LG_MAX_LIST_ITEMS; i++)
                g_ptr_array_add(items, (gpointer) "443");
        g_autoptr(GError) e = NULL;
        g_autoptr(LgValue) full = lg_value_parse_strv(LG_TYPE_PORTS, (const char *const *) items->pdata,
                                                      LG_MAX_LIST_ITEMS, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(full->ports->len, ==, LG_MAX_LIST_ITEMS);
        g_autoptr(LgValue) over = lg_value_parse_strv(LG_TYPE_PORTS, (const char *const *) items->pdata,
                                                      LG_MAX_LIST_ITEMS + 1, &e);
        g_assert_null(over);
        assert_invalid(e);
        g_ptr_array_unref(items);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/params/types", test_types);
        g_test_add_func("/params/uint64", test_uint64);
        g_test_add_func("/params/addr/ipv4", test_addr_ipv4);
        g_test_add_func("/params/addr/ipv6", test_addr_ipv6);
        g_test_add_func("/params/addr/helpers", test_addr_helpers);
        g_test_add_func("/params/addr/format-inet-ntop", test_addr_format_inet_ntop);
        g_test_add_func("/params/addr/parse-inet-pton", test_addr_parse_inet_pton);
        g_test_add_func("/params/endpoint", test_endpoint);
        g_test_add_func("/params/ports", test_ports);
        g_test_add_func("/params/bool", test_bool);
        g_test_add_func("/params/user", test_user);
        g_test_add_func("/params/interface", test_interface);
        g_test_add_func("/params/string", test_string);
        g_test_add_func("/params/value/parse-text", test_parse_text);
        g_test_add_func("/params/value/parse-strv", test_parse_strv);
        g_test_add_func("/params/value/to-strv", test_to_strv);
        g_test_add_func("/params/value/canonical", test_canonical);
        g_test_add_func("/params/value/equal-copy", test_equal_copy);
        g_test_add_func("/params/value/list-limit", test_list_limit);
        return g_test_run();
}
