/* Unit tests of src/netevent.c: NFLOG packet messages built here as the kernel builds them
 * (nfnetlink_log.c), parsed into the packet Explain describes; hostile and truncated messages;
 * the prefix; the token buckets of the rate limits. */
#include "netevent.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <string.h>

typedef struct {
        int hook;
        const char *prefix;
        int indev, outdev;
        bool uid;
        uint32_t uid_v, gid_v, mark;
        const uint8_t *payload;
        size_t len;
} Msg;

static size_t build(char *buf, const Msg *m) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
        struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = m->payload && m->len && (m->payload[0] >> 4) == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
        g->version = NFNETLINK_V0;
        g->res_id = htons(7401);
        struct nfulnl_msg_packet_hdr h = {.hw_protocol = htons(0x0800), .hook = (uint8_t) m->hook};
        mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(h), &h);
        if (m->mark)
                mnl_attr_put_u32(nlh, NFULA_MARK, htonl(m->mark));
        if (m->indev)
                mnl_attr_put_u32(nlh, NFULA_IFINDEX_INDEV, htonl((uint32_t) m->indev));
        if (m->outdev)
                mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl((uint32_t) m->outdev));
        if (m->prefix)
                mnl_attr_put_strz(nlh, NFULA_PREFIX, m->prefix);
        if (m->uid) {
                mnl_attr_put_u32(nlh, NFULA_UID, htonl(m->uid_v));
                mnl_attr_put_u32(nlh, NFULA_GID, htonl(m->gid_v));
        }
        if (m->payload)
                mnl_attr_put(nlh, NFULA_PAYLOAD, m->len, m->payload);
        return nlh->nlmsg_len;
}

static void ipv4_header(uint8_t *p, uint8_t proto, const char *src, const char *dst, uint16_t frag) {
        memset(p, 0, 20);
        p[0] = 0x45;
        p[6] = frag >> 8;
        p[7] = frag & 0xff;
        p[8] = 64;
        p[9] = proto;
        inet_pton(AF_INET, src, p + 12);
        inet_pton(AF_INET, dst, p + 16);
}

static void ipv6_header(uint8_t *p, uint8_t next, const char *src, const char *dst) {
        memset(p, 0, 40);
        p[0] = 0x60;
        p[6] = next;
        p[7] = 64;
        inet_pton(AF_INET6, src, p + 8);
        inet_pton(AF_INET6, dst, p + 24);
}

static char *endpoint(const LgPacket *p, bool remote) {
        GString *s = g_string_new(NULL);
        lg_packet_format_endpoint(p->family, remote ? p->remote : p->local, remote ? p->remote_port : p->local_port, s);
        return g_string_free(s, FALSE);
}

static void test_ipv4_udp_output(void) {
        uint8_t pkt[28];
        ipv4_header(pkt, IPPROTO_UDP, "192.0.2.1", "192.0.2.2", 0x4000 /* DF */);
        pkt[20] = 40100 >> 8, pkt[21] = 40100 & 0xff, pkt[22] = 9100 >> 8, pkt[23] = 9100 & 0xff;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        Msg m = {.hook = NF_INET_LOCAL_OUT, .prefix = "netlog/guard/udp-9100", .outdev = 3, .uid = true,
                 .uid_v = 1000, .gid_v = 100, .mark = 42, .payload = pkt, .len = sizeof pkt};
        size_t len = build(buf, &m);
        LgNetEvent ev;
        g_assert_true(lg_netevent_parse(buf, len, &ev));
        g_assert_cmpstr(ev.policy, ==, "netlog");
        g_assert_cmpstr(ev.sublayer, ==, "guard");
        g_assert_cmpstr(ev.filter, ==, "udp-9100");
        g_assert_cmpstr(ev.prefix, ==, "netlog/guard/udp-9100");
        g_assert_cmpint(ev.hook, ==, NF_INET_LOCAL_OUT);
        g_assert_cmpint(ev.ifindex_out, ==, 3);
        g_assert_cmpint(ev.ifindex_in, ==, 0);
        g_assert_cmpint(ev.packet.family, ==, 4);
        g_assert_cmpint(ev.packet.proto, ==, IPPROTO_UDP);
        g_autofree char *r = endpoint(&ev.packet, true), *l = endpoint(&ev.packet, false);
        g_assert_cmpstr(r, ==, "192.0.2.2:9100");
        g_assert_cmpstr(l, ==, "192.0.2.1:40100");
        g_assert_true(ev.packet.has_uid && ev.packet.has_gid);
        g_assert_cmpuint(ev.packet.uid, ==, 1000);
        g_assert_cmpuint(ev.packet.gid, ==, 100);
        g_assert_cmpuint(ev.packet.mark, ==, 42);
        g_assert_cmpint(ev.packet.icmp_type, ==, -1);
}

static void test_ipv4_icmp_input(void) {
        uint8_t pkt[28] = {0};
        ipv4_header(pkt, IPPROTO_ICMP, "192.0.2.2", "192.0.2.1", 0);
        pkt[20] = 8;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        Msg m = {.hook = NF_INET_LOCAL_IN, .prefix = "p/s/f", .indev = 2, .payload = pkt, .len = sizeof pkt};
        LgNetEvent ev;
        g_assert_true(lg_netevent_parse(buf, build(buf, &m), &ev));
        /* Inbound: the peer is the source. */
        g_autofree char *r = endpoint(&ev.packet, true), *l = endpoint(&ev.packet, false);
        g_assert_cmpstr(r, ==, "192.0.2.2");
        g_assert_cmpstr(l, ==, "192.0.2.1");
        g_assert_cmpint(ev.packet.icmp_type, ==, 8);
        g_assert_cmpint(ev.ifindex_in, ==, 2);
        g_assert_false(ev.packet.has_uid);
        g_assert_cmpuint(ev.packet.mark, ==, 0);
}

static void test_ipv4_fragment(void) {
        uint8_t pkt[28];
        ipv4_header(pkt, IPPROTO_UDP, "192.0.2.1", "192.0.2.2", 0x0010 /* offset 128 bytes */);
        memset(pkt + 20, 0xab, 8);
        char buf[MNL_SOCKET_BUFFER_SIZE];
        Msg m = {.hook = NF_INET_LOCAL_OUT, .prefix = "p/s/f", .payload = pkt, .len = sizeof pkt};
        LgNetEvent ev;
        g_assert_true(lg_netevent_parse(buf, build(buf, &m), &ev));
        /* A later fragment has no transport header: no ports. */
        g_assert_cmpint(ev.packet.remote_port, ==, -1);
        g_assert_cmpint(ev.packet.local_port, ==, -1);
}

static void test_ipv6_tcp_extension_headers(void) {
        uint8_t pkt[40 + 8 + 8 + 20] = {0};
        ipv6_header(pkt, IPPROTO_HOPOPTS, "2001:db8::1", "2001:db8::2");
        pkt[40] = IPPROTO_FRAGMENT; /* hop-by-hop, 8 bytes */
        pkt[48] = IPPROTO_TCP;      /* fragment header, offset 0: the first fragment */
        pkt[56] = 443 >> 8, pkt[57] = 443 & 0xff, pkt[58] = 53 >> 8, pkt[59] = 53 & 0xff;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        Msg m = {.hook = NF_INET_FORWARD, .prefix = "p/s/f", .indev = 1, .outdev = 2, .payload = pkt,
                 .len = sizeof pkt};
        LgNetEvent ev;
        g_assert_true(lg_netevent_parse(buf, build(buf, &m), &ev));
        g_assert_cmpint(ev.packet.family, ==, 6);
        g_assert_cmpint(ev.packet.proto, ==, IPPROTO_TCP);
        /* Forwarded: as outbound, the peer is the destination. */
        g_autofree char *r = endpoint(&ev.packet, true), *l = endpoint(&ev.packet, false);
        g_assert_cmpstr(r, ==, "[2001:db8::2]:53");
        g_assert_cmpstr(l, ==, "[2001:db8::1]:443");
}

static void test_hostile(void) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        uint8_t pkt[28];
        ipv4_header(pkt, IPPROTO_UDP, "192.0.2.1", "192.0.2.2", 0);
        LgNetEvent ev;
        /* No payload, a short IP header, a wrong version, an IHL beyond the copy. */
        Msg m = {.hook = NF_INET_LOCAL_OUT, .prefix = "p/s/f"};
        g_assert_false(lg_netevent_parse(buf, build(buf, &m), &ev));
        m.payload = pkt;
        m.len = 12;
        g_assert_false(lg_netevent_parse(buf, build(buf, &m), &ev));
        uint8_t bad[28];
        memcpy(bad, pkt, sizeof bad);
        bad[0] = 0x55;
        m.payload = bad;
        m.len = sizeof bad;
        g_assert_false(lg_netevent_parse(buf, build(buf, &m), &ev));
        bad[0] = 0x4f; /* 60-byte header in 28 bytes */
        g_assert_false(lg_netevent_parse(buf, build(buf, &m), &ev));
        /* IPv6 extension headers that run past the copy. */
        uint8_t v6[42] = {0};
        ipv6_header(v6, IPPROTO_HOPOPTS, "2001:db8::1", "2001:db8::2");
        v6[40] = IPPROTO_TCP;
        v6[41] = 200;
        m.payload = v6;
        m.len = sizeof v6;
        g_assert_true(lg_netevent_parse(buf, build(buf, &m), &ev)); /* addresses, no ports */
        g_assert_cmpint(ev.packet.remote_port, ==, -1);
        /* Not a packet message; a message whose length lies; a truncated attribute. */
        m.payload = pkt;
        m.len = sizeof pkt;
        size_t len = build(buf, &m);
        ((struct nlmsghdr *) buf)->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
        g_assert_false(lg_netevent_parse(buf, len, &ev));
        len = build(buf, &m);
        g_assert_false(lg_netevent_parse(buf, len - 8, &ev));
        ((struct nlmsghdr *) buf)->nlmsg_len = (uint32_t) len + 64;
        g_assert_false(lg_netevent_parse(buf, len, &ev));
        g_assert_false(lg_netevent_parse(buf, 3, &ev));
        /* A 2-byte mark attribute is refused, not read past. */
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
        mnl_attr_put_u16(nlh, NFULA_MARK, 1);
        mnl_attr_put(nlh, NFULA_PAYLOAD, sizeof pkt, pkt);
        g_assert_false(lg_netevent_parse(buf, nlh->nlmsg_len, &ev));
}

static void test_prefix(void) {
        const char *ok[] = {"a/b/c", "killswitch/killswitch/everything-else", "0/1-x/y"};
        const char *bad[] = {"", "a/b", "a/b/c/d", "A/b/c", "a//c", "a/b/", "/b/c", "a/b/c d", "a/b/-c"};
        LgNetEvent ev;
        for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
                memset(&ev, 0, sizeof ev);
                g_strlcpy(ev.prefix, ok[i], sizeof ev.prefix);
                g_assert_true(lg_netevent_split_prefix(&ev));
                g_autofree char *joined = g_strdup_printf("%s/%s/%s", ev.policy, ev.sublayer, ev.filter);
                g_assert_cmpstr(joined, ==, ok[i]);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                memset(&ev, 0, sizeof ev);
                g_strlcpy(ev.prefix, bad[i], sizeof ev.prefix);
                g_assert_false(lg_netevent_split_prefix(&ev));
                g_assert_null(ev.policy);
        }
}

static void test_token_bucket(void) {
        LgTokenBucket b;
        uint64_t t = 1000000;
        lg_token_bucket_init(&b, 5, 10, t);
        /* The burst, then nothing until time passes. */
        for (int i = 0; i < 10; i++)
                g_assert_true(lg_token_bucket_take(&b, t));
        g_assert_false(lg_token_bucket_take(&b, t));
        g_assert_false(lg_token_bucket_peek(&b, t + 199999));
        g_assert_true(lg_token_bucket_take(&b, t + 200000)); /* 5/s: one every 200 ms */
        g_assert_false(lg_token_bucket_take(&b, t + 200000));
        /* A long pause refills to the burst, no more. */
        int n = 0;
        while (lg_token_bucket_take(&b, t + 60000000))
                n++;
        g_assert_cmpint(n, ==, 10);
        /* Over 10 s of constant demand: burst + rate × time. */
        lg_token_bucket_init(&b, 5, 10, 0);
        n = 0;
        for (uint64_t now = 0; now <= 10000000; now += 1000)
                n += lg_token_bucket_take(&b, now);
        g_assert_cmpint(n, ==, 10 + 50);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/netevent/ipv4-udp-output", test_ipv4_udp_output);
        g_test_add_func("/netevent/ipv4-icmp-input", test_ipv4_icmp_input);
        g_test_add_func("/netevent/ipv4-fragment", test_ipv4_fragment);
        g_test_add_func("/netevent/ipv6-extension-headers", test_ipv6_tcp_extension_headers);
        g_test_add_func("/netevent/hostile", test_hostile);
        g_test_add_func("/netevent/prefix", test_prefix);
        g_test_add_func("/netevent/token-bucket", test_token_bucket);
        return g_test_run();
}
