/* Parsing uses libmnl's attribute walker, which checks every attribute's length against the
 * message before anything is read (see netlog.c for why libmnl). */
#include "netevent.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <netinet/in.h>
#include <string.h>

typedef struct {
        const struct nlattr *tb[NFULA_MAX + 1];
} Attrs;

static int attr_cb(const struct nlattr *a, void *data) {
        Attrs *at = data;
        int type = mnl_attr_get_type(a);
        if (mnl_attr_type_valid(a, NFULA_MAX) < 0)
                return MNL_CB_OK; /* newer than these headers: not needed */
        switch (type) {
        case NFULA_MARK:
        case NFULA_IFINDEX_INDEV:
        case NFULA_IFINDEX_OUTDEV:
        case NFULA_UID:
        case NFULA_GID:
                if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
                        return MNL_CB_ERROR;
                break;
        case NFULA_PACKET_HDR:
                if (mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct nfulnl_msg_packet_hdr)) < 0)
                        return MNL_CB_ERROR;
                break;
        case NFULA_PREFIX:
                if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
                        return MNL_CB_ERROR;
                break;
        default:
                break;
        }
        at->tb[type] = a;
        return MNL_CB_OK;
}

static bool has_ports(int proto) {
        return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
               proto == IPPROTO_DCCP;
}

/* The network header and what follows, as far as the copy range reaches: addresses, the
 * transport protocol (after IPv6 extension headers, as `meta l4proto` sees it), ports or the
 * ICMP type. */
static bool parse_ip(const uint8_t *d, size_t len, int *family, uint8_t src[16], uint8_t dst[16], int *proto,
                     int *sport, int *dport, int *icmp_type) {
        *sport = *dport = *icmp_type = -1;
        if (len < 1)
                return false;
        size_t off;
        bool first_fragment = true;
        memset(src, 0, 16);
        memset(dst, 0, 16);
        if ((d[0] >> 4) == 4) {
                size_t ihl = (size_t) (d[0] & 0xf) * 4;
                if (len < 20 || ihl < 20 || len < ihl)
                        return false;
                *family = 4;
                *proto = d[9];
                memcpy(src, d + 12, 4);
                memcpy(dst, d + 16, 4);
                first_fragment = ((d[6] << 8 | d[7]) & 0x1fff) == 0;
                off = ihl;
        } else if ((d[0] >> 4) == 6) {
                if (len < 40)
                        return false;
                *family = 6;
                memcpy(src, d + 8, 16);
                memcpy(dst, d + 24, 16);
                int next = d[6];
                off = 40;
                /* The extension headers ipv6_find_hdr() skips, at most a few of them. */
                for (int n = 0; n < 8; n++) {
                        if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS) {
                                if (len < off + 2)
                                        return false;
                                next = d[off];
                                off += ((size_t) d[off + 1] + 1) * 8;
                        } else if (next == IPPROTO_FRAGMENT) {
                                if (len < off + 8)
                                        return false;
                                first_fragment = ((d[off + 2] << 8 | d[off + 3]) & ~7) == 0;
                                next = d[off];
                                off += 8;
                        } else if (next == IPPROTO_AH) {
                                if (len < off + 2)
                                        return false;
                                next = d[off];
                                off += ((size_t) d[off + 1] + 2) * 4;
                        } else
                                break;
                }
                *proto = next;
        } else
                return false;
        if (!first_fragment)
                return true; /* no transport header in this fragment */
        if (has_ports(*proto) && len >= off + 4) {
                *sport = d[off] << 8 | d[off + 1];
                *dport = d[off + 2] << 8 | d[off + 3];
        } else if ((*proto == IPPROTO_ICMP || *proto == IPPROTO_ICMPV6) && len >= off + 1)
                *icmp_type = d[off];
        return true;
}

bool lg_netevent_split_prefix(LgNetEvent *ev) {
        ev->policy = ev->sublayer = ev->filter = NULL;
        g_strlcpy(ev->names, ev->prefix, sizeof(ev->names));
        char *a = ev->names, *b = strchr(a, '/');
        char *c = b ? strchr(b + 1, '/') : NULL;
        if (!b || !c || strchr(c + 1, '/'))
                return false;
        *b++ = '\0';
        *c++ = '\0';
        if (!lg_policy_name_valid(a) || !lg_policy_name_valid(b) || !lg_policy_name_valid(c))
                return false;
        ev->policy = a;
        ev->sublayer = b;
        ev->filter = c;
        return true;
}

bool lg_netevent_parse(const void *buf, size_t len, LgNetEvent *ev) {
        const struct nlmsghdr *nlh = buf;
        if (len < sizeof(*nlh) || !mnl_nlmsg_ok(nlh, (int) len))
                return false;
        if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
                return false;
        if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)))
                return false;
        Attrs at = {{0}};
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &at) < 0)
                return false;
        memset(ev, 0, sizeof(*ev));
        lg_packet_init(&ev->packet);
        ev->hook = -1;
        if (at.tb[NFULA_PACKET_HDR]) {
                const struct nfulnl_msg_packet_hdr *h = mnl_attr_get_payload(at.tb[NFULA_PACKET_HDR]);
                ev->hook = h->hook;
        }
        if (at.tb[NFULA_PREFIX])
                g_strlcpy(ev->prefix, mnl_attr_get_str(at.tb[NFULA_PREFIX]), sizeof(ev->prefix));
        lg_netevent_split_prefix(ev);
        if (at.tb[NFULA_IFINDEX_INDEV])
                ev->ifindex_in = (int) ntohl(mnl_attr_get_u32(at.tb[NFULA_IFINDEX_INDEV]));
        if (at.tb[NFULA_IFINDEX_OUTDEV])
                ev->ifindex_out = (int) ntohl(mnl_attr_get_u32(at.tb[NFULA_IFINDEX_OUTDEV]));
        LgPacket *p = &ev->packet;
        if (at.tb[NFULA_MARK])
                p->mark = ntohl(mnl_attr_get_u32(at.tb[NFULA_MARK]));
        if (at.tb[NFULA_UID]) {
                p->has_uid = true;
                p->uid = ntohl(mnl_attr_get_u32(at.tb[NFULA_UID]));
        }
        if (at.tb[NFULA_GID]) {
                p->has_gid = true;
                p->gid = ntohl(mnl_attr_get_u32(at.tb[NFULA_GID]));
        }
        if (!at.tb[NFULA_PAYLOAD])
                return false;
        uint8_t src[16], dst[16];
        int sport, dport;
        if (!parse_ip(mnl_attr_get_payload(at.tb[NFULA_PAYLOAD]), mnl_attr_get_payload_len(at.tb[NFULA_PAYLOAD]),
                      &p->family, src, dst, &p->proto, &sport, &dport, &p->icmp_type))
                return false;
        /* Direction-neutral, as in policies: the peer is the source of what comes in. */
        bool in = ev->hook == NF_INET_LOCAL_IN || ev->hook == NF_INET_PRE_ROUTING;
        memcpy(p->remote, in ? src : dst, 16);
        memcpy(p->local, in ? dst : src, 16);
        p->remote_port = in ? sport : dport;
        p->local_port = in ? dport : sport;
        p->has_remote = p->has_local = true;
        return true;
}

/* ---- token buckets ---- */

void lg_token_bucket_init(LgTokenBucket *b, double rate, double burst, uint64_t now) {
        b->rate = rate;
        b->burst = burst;
        b->tokens = burst;
        b->last = now;
}

static void refill(LgTokenBucket *b, uint64_t now) {
        if (now > b->last) {
                b->tokens += (double) (now - b->last) * b->rate / 1e6;
                if (b->tokens > b->burst)
                        b->tokens = b->burst;
        }
        b->last = now;
}

bool lg_token_bucket_peek(LgTokenBucket *b, uint64_t now) {
        refill(b, now);
        return b->tokens >= 1.0;
}

bool lg_token_bucket_take(LgTokenBucket *b, uint64_t now) {
        if (!lg_token_bucket_peek(b, now))
                return false;
        b->tokens -= 1.0;
        return true;
}
