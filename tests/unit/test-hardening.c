/* Hardening of the core (issue 7, docs/limits.md): the state file's parser refuses what it did
 * not write and survives what GLib's GKeyFile gets wrong, the loader refuses what is not a regular
 * file of sane size, a state round-trips exactly (a policy without parameters included), the total
 * number of parameter items per Enable is bounded, and error texts are always fit for D-Bus. */
#include "error.h"
#include "params.h"
#include "policy.h"
#include "state.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static const char good[] = "[leakguard]\n"
                           "version=1\n"
                           "generation=7\n"
                           "policies=killswitch;ipv6-leak;\n"
                           "\n"
                           "[policy killswitch]\n"
                           "servers=192.0.2.1:51820/udp;\n"
                           "tunnel=wg0;\n"
                           "\n"
                           "[end]\n"
                           "complete=true\n";

static void refused(const char *text, gssize len, const char *want) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgState) s = lg_state_parse(text, len < 0 ? strlen(text) : (size_t) len, &e);
        g_assert_null(s);
        g_assert_nonnull(e);
        g_assert_true(g_utf8_validate(e->message, -1, NULL));
        if (!strstr(e->message, want))
                g_error("'%s' does not contain '%s'", e->message, want);
}

static char *replace(const char *text, const char *from, const char *to) {
        g_auto(GStrv) parts = g_strsplit(text, from, 2);
        return g_strjoinv(to, parts);
}

static void test_state_parse_refuses(void) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgState) s = lg_state_parse(good, strlen(good), &e);
        g_assert_no_error(e);
        /* ipv6-leak has no group: a policy without parameters (GKeyFile writes no empty group). */
        g_assert_cmpuint(s->policies->len, ==, 2);
        g_assert_cmpuint(g_hash_table_size(((LgSavedPolicy *) s->policies->pdata[1])->params), ==, 0);

        g_autofree char *twice = replace(good, "policies=killswitch;ipv6-leak;", "policies=killswitch;killswitch;");
        refused(twice, -1, "policy 'killswitch' is listed twice");
        g_autofree char *badname = replace(good, "policies=killswitch;", "policies=../etc;");
        refused(badname, -1, "'../etc' in the policy list is not a policy name");
        g_autofree char *badkey = replace(good, "tunnel=wg0;", "Tunnel=wg0;");
        refused(badkey, -1, "'Tunnel' is not a parameter name");
        /* GLib 2.74 sets its GError twice on this value (fuzz/regressions/state/). */
        g_autofree char *esc = replace(good, "tunnel=wg0;", "tunnel=\\x\\");
        refused(esc, -1, "invalid escape sequence");
        g_autofree char *v2 = replace(good, "version=1", "version=2");
        refused(v2, -1, "state version 2, this leakguardd reads version 1");
        g_autofree char *noend = replace(good, "complete=true", "complete=false");
        refused(noend, -1, "incomplete");
        refused(good, 60, "incomplete");
        char nul[sizeof good];
        memcpy(nul, good, sizeof good);
        nul[30] = '\0';
        refused(nul, sizeof good - 1, "contains a NUL byte");
        /* A long line of invalid UTF-8: GKeyFile quotes it; the message is made UTF-8 and cut. */
        g_autofree char *junk = g_strnfill(5000, '\xff');
        g_autofree char *bad = g_strconcat("[leakguard]\n", junk, "\n", NULL);
        g_autoptr(GError) e2 = NULL;
        g_assert_null(lg_state_parse(bad, strlen(bad), &e2));
        g_assert_true(g_utf8_validate(e2->message, -1, NULL));
        g_assert_cmpuint(g_utf8_strlen(e2->message, -1), <=, 301);
}

static void test_state_round_trip(void) {
        g_autoptr(LgState) s = lg_state_new();
        s->generation = G_MAXUINT64;
        GHashTable *p = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
        const char *items[] = {"a;b", "c\\d", " lead", "new\nline", NULL};
        g_hash_table_insert(p, g_strdup("cgroup"), g_strdupv((char **) items));
        lg_state_add(s, "typed", p);
        lg_state_add(s, "no-params", g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev));
        size_t len;
        g_autofree char *text = lg_state_to_data(s, &len);
        g_autoptr(GError) e = NULL;
        g_autoptr(LgState) back = lg_state_parse(text, len, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, G_MAXUINT64);
        g_assert_cmpuint(back->policies->len, ==, 2);
        g_assert_cmpstr(((LgSavedPolicy *) back->policies->pdata[1])->policy, ==, "no-params");
        char **got = g_hash_table_lookup(((LgSavedPolicy *) back->policies->pdata[0])->params, "cgroup");
        g_assert_true(g_strv_equal((const char *const *) got, items));
        size_t len2;
        g_autofree char *again = lg_state_to_data(back, &len2);
        g_assert_cmpstr(text, ==, again);
}

/* A policy's part written without GKeyFile when every item is plain is GKeyFile's text byte for
 * byte (so old and new daemons make the same side file, with the same SHA-256); one item that is
 * not plain sends the whole part through GKeyFile, and it still reads back. */
static void test_state_policy_text(void) {
        g_autoptr(GHashTable) p = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
        const char *nets[] = {"10.0.0.0/8", "192.0.2.1-192.0.2.9", "2001:db8::/32", "::ffff:192.0.2.1", NULL};
        const char *none[] = {NULL};
        const char *ports[] = {"53", "1000-2000", NULL};
        const char *servers[] = {"[2001:db8::1]:51820/udp", "198.51.100.7:443/tcp", NULL};
        g_hash_table_insert(p, g_strdup("nets"), g_strdupv((char **) nets));
        g_hash_table_insert(p, g_strdup("empty"), g_strdupv((char **) none));
        g_hash_table_insert(p, g_strdup("ports"), g_strdupv((char **) ports));
        g_hash_table_insert(p, g_strdup("servers"), g_strdupv((char **) servers));
        g_autoptr(GKeyFile) kf = g_key_file_new();
        const char *keys[] = {"empty", "nets", "ports", "servers"};
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                char **v = g_hash_table_lookup(p, keys[i]);
                g_key_file_set_string_list(kf, "policy x", keys[i], (const char *const *) v, g_strv_length(v));
        }
        g_autofree char *want = g_key_file_to_data(kf, NULL, NULL);
        g_autofree char *got = lg_state_policy_text("x", p);
        g_assert_cmpstr(got, ==, want);

        const char *odd[] = {"ok", "a;b", NULL};
        g_hash_table_insert(p, g_strdup("odd"), g_strdupv((char **) odd));
        g_autofree char *mixed = lg_state_policy_text("x", p);
        g_assert_nonnull(strstr(mixed, "odd=ok;a\\;b;\n"));
        g_autoptr(GKeyFile) back = g_key_file_new();
        g_assert_true(g_key_file_load_from_data(back, mixed, (gsize) -1, G_KEY_FILE_NONE, NULL));
        g_auto(GStrv) got_nets = g_key_file_get_string_list(back, "policy x", "nets", NULL, NULL);
        g_assert_true(g_strv_equal((const char *const *) got_nets, nets));
        g_auto(GStrv) got_odd = g_key_file_get_string_list(back, "policy x", "odd", NULL, NULL);
        g_assert_true(g_strv_equal((const char *const *) got_odd, odd));
}

static void test_state_load_files(void) {
        g_autofree char *dir = g_dir_make_tmp("lg-hardening-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, LG_STATE_FILE, NULL);
        g_autoptr(GError) e = NULL;
        /* None: no state, no error. */
        g_assert_null(lg_state_load(dir, &e));
        g_assert_no_error(e);
        /* A FIFO would block a reader forever. */
        g_assert_cmpint(mkfifo(path, 0600), ==, 0);
        g_assert_null(lg_state_load(dir, &e));
        g_assert_error(e, G_FILE_ERROR, G_FILE_ERROR_FAILED);
        g_assert_true(g_str_has_suffix(e->message, "is not a regular file"));
        g_clear_error(&e);
        g_unlink(path);
        /* A directory. */
        g_assert_cmpint(g_mkdir(path, 0700), ==, 0);
        g_assert_null(lg_state_load(dir, &e));
        g_assert_true(g_str_has_suffix(e->message, "is not a regular file"));
        g_clear_error(&e);
        g_rmdir(path);
        /* Larger than LG_MAX_STATE_FILE_SIZE (sparse: nothing is written). */
        int fd = g_open(path, O_CREAT | O_WRONLY, 0600);
        g_assert_cmpint(ftruncate(fd, (off_t) LG_MAX_STATE_FILE_SIZE + 1), ==, 0);
        close(fd);
        g_assert_null(lg_state_load(dir, &e));
        g_assert_nonnull(strstr(e->message, "bytes, more than the 268435456 allowed"));
        g_clear_error(&e);
        /* The saved ruleset: the same rules, and no NUL inside. */
        g_autofree char *rpath = g_build_filename(dir, LG_RULESET_FILE, NULL);
        g_assert_true(g_file_set_contents(rpath, "flush ruleset\0add table x", 25, NULL));
        g_assert_null(lg_state_load_ruleset(dir, &e));
        g_assert_nonnull(strstr(e->message, "contains a NUL byte"));
        g_clear_error(&e);
        g_unlink(rpath);
        g_assert_null(lg_state_load_ruleset(dir, &e));
        g_assert_error(e, G_FILE_ERROR, G_FILE_ERROR_NOENT);
        g_clear_error(&e);
        /* A good one, saved and loaded. */
        g_unlink(path);
        g_autoptr(LgState) s = lg_state_parse(good, strlen(good), &e);
        g_assert_true(lg_state_save(dir, s, &e));
        g_autoptr(LgState) back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 7);
        /* state.ini is written through its staging file: a crash while writing it leaves a
         * leftover that nothing reads, that the next save overwrites, and that never remains. */
        g_autofree char *staged = g_build_filename(dir, LG_STATE_STAGED, NULL);
        g_assert_true(g_file_set_contents(staged, "[leakguard]\nversion=1\ngenerati", -1, NULL));
        g_clear_pointer(&back, lg_state_free);
        back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 7);
        s->generation = 8;
        g_assert_true(lg_state_save(dir, s, &e));
        g_assert_false(g_file_test(staged, G_FILE_TEST_EXISTS));
        g_clear_pointer(&back, lg_state_free);
        back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 8);
        /* Staged for a change the kernel then refused: discarded, state.ini untouched. */
        LgStatePart part = {.policy = "killswitch", .text = "[policy killswitch]\ntunnel=wg9;\n"};
        g_assert_true(lg_state_stage_parts(dir, 9, &part, 1, &e));
        g_assert_true(g_file_test(staged, G_FILE_TEST_IS_REGULAR));
        lg_state_discard_parts(dir);
        g_assert_false(g_file_test(staged, G_FILE_TEST_EXISTS));
        g_clear_pointer(&back, lg_state_free);
        back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 8);
        /* Staged, then installed: the new state. */
        g_assert_true(lg_state_stage_parts(dir, 9, &part, 1, &e));
        g_assert_true(lg_state_install_parts(dir, &part, 1, &e));
        g_assert_false(g_file_test(staged, G_FILE_TEST_EXISTS));
        g_clear_pointer(&back, lg_state_free);
        back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 9);
        g_assert_cmpstr(((char **) g_hash_table_lookup(((LgSavedPolicy *) back->policies->pdata[0])->params,
                                                       "tunnel"))[0], ==, "wg9");
        g_assert_true(lg_state_save(dir, s, &e)); /* generation 8 again, for what follows */
        /* A directory in its place: the save fails, state.ini stays the last one. */
        g_assert_cmpint(g_mkdir(staged, 0700), ==, 0);
        s->generation = 9;
        g_assert_false(lg_state_save(dir, s, &e));
        g_assert_nonnull(strstr(e->message, LG_STATE_STAGED));
        g_clear_error(&e);
        g_clear_pointer(&back, lg_state_free);
        back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->generation, ==, 8);
        g_rmdir(staged);
        g_unlink(path);
        g_rmdir(dir);
}

/* A large parameter goes to a side file named by its SHA-256: saved, loaded back, refused when
 * changed or missing, never read from a bare state.ini text, and removed once no state names it. */
static void test_state_side_files(void) {
        g_autofree char *dir = g_dir_make_tmp("lg-side-XXXXXX", NULL);
        g_autoptr(LgState) s = lg_state_new();
        s->generation = 3;
        g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < 20000; i++)
                g_ptr_array_add(nets, g_strdup_printf("10.%u.%u.0/24", i / 256, i % 256));
        g_ptr_array_add(nets, NULL);
        GHashTable *big = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
        g_hash_table_insert(big, g_strdup("nets"), g_strdupv((char **) nets->pdata));
        lg_state_add(s, "blocklist", big);
        GHashTable *small = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
        const char *wg[] = {"wg0", NULL};
        g_hash_table_insert(small, g_strdup("tunnel"), g_strdupv((char **) wg));
        lg_state_add(s, "killswitch", small);
        g_autoptr(GError) e = NULL;
        g_assert_true(lg_state_save(dir, s, &e));
        g_assert_no_error(e);

        g_autofree char *path = g_build_filename(dir, LG_STATE_FILE, NULL);
        g_autofree char *index = NULL;
        gsize len;
        g_assert_true(g_file_get_contents(path, &index, &len, NULL));
        g_assert_cmpuint(len, <, 512);
        g_assert_nonnull(strstr(index, "[files]\nblocklist=params-"));
        g_assert_nonnull(strstr(index, "[policy killswitch]\ntunnel=wg0;"));
        g_autoptr(GError) e1 = NULL;
        g_assert_null(lg_state_parse(index, len, &e1));
        g_assert_nonnull(strstr(e1->message, "outside this text"));

        g_autoptr(LgState) back = lg_state_load(dir, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(back->policies->len, ==, 2);
        char **got = g_hash_table_lookup(((LgSavedPolicy *) back->policies->pdata[0])->params, "nets");
        g_assert_true(g_strv_equal((const char *const *) got, (const char *const *) nets->pdata));

        /* The side file's name is its checksum: one changed byte and the state is refused. */
        const char *start = strstr(index, "blocklist=") + strlen("blocklist=");
        g_autofree char *file = g_strndup(start, strcspn(start, "\n"));
        g_autofree char *side = g_build_filename(dir, file, NULL);
        g_autofree char *data = NULL;
        g_assert_true(g_file_get_contents(side, &data, &len, NULL));
        g_assert_cmpuint(len, >, LG_STATE_INLINE_MAX);
        data[len - 3] = data[len - 3] == '1' ? '2' : '1';
        g_assert_true(g_file_set_contents(side, data, (gssize) len, NULL));
        g_autoptr(GError) e2 = NULL;
        g_assert_null(lg_state_load(dir, &e2));
        g_assert_nonnull(strstr(e2->message, "changed since it was written"));
        g_unlink(side);
        g_autoptr(GError) e3 = NULL;
        g_assert_null(lg_state_load(dir, &e3));
        g_assert_nonnull(strstr(e3->message, "does not exist"));
        /* Not a name we write: refused before any file is opened. */
        g_autofree char *evil = replace(index, file, "../../etc/passwd");
        g_assert_true(g_file_set_contents(path, evil, -1, NULL));
        g_autoptr(GError) e4 = NULL;
        g_assert_null(lg_state_load(dir, &e4));
        g_assert_nonnull(strstr(e4->message, "is not a parameter file name"));

        /* Saved again, then without the large policy: its side file goes. */
        g_assert_true(lg_state_save(dir, s, &e));
        g_assert_true(g_file_test(side, G_FILE_TEST_EXISTS));
        g_ptr_array_remove_index(s->policies, 0);
        g_assert_true(lg_state_save(dir, s, &e));
        g_assert_false(g_file_test(side, G_FILE_TEST_EXISTS));
        g_unlink(path);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* A large set's elements in a file of their own that ruleset.nft includes: read back in place of
 * the include, refused when changed, missing or not one of ours; unused ones removed. */
static void test_state_set_files(void) {
        g_autofree char *dir = g_dir_make_tmp("lg-sets-XXXXXX", NULL);
        const char *elems = "flush set inet leakguard s\nadd element inet leakguard s { 10.0.0.0/8 }\n";
        g_autofree char *file = NULL;
        g_autoptr(GError) e = NULL;
        g_assert_true(lg_state_store_set_text(dir, elems, strlen(elems), &file, &e));
        g_assert_no_error(e);
        g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, elems, -1);
        g_autofree char *want = g_strconcat(LG_RULESET_SIDE_PREFIX, sum, ".nft", NULL);
        g_assert_cmpstr(file, ==, want);
        g_autofree char *line = lg_state_include_line(dir, file);
        g_autofree char *text = g_strconcat("table inet leakguard { }\n", line, "# end\n", NULL);
        g_assert_true(lg_state_stage_ruleset(dir, text, &e));
        g_assert_true(lg_state_install_ruleset(dir, &e));
        g_autofree char *back = lg_state_load_ruleset(dir, &e);
        g_assert_no_error(e);
        g_autofree char *expanded = g_strconcat("table inet leakguard { }\n", elems, "# end\n", NULL);
        g_assert_cmpstr(back, ==, expanded);

        g_autofree char *path = g_build_filename(dir, file, NULL);
        g_autofree char *rpath = g_build_filename(dir, LG_RULESET_FILE, NULL);
        struct {
                const char *ruleset; /* NULL: `text` */
                const char *set;     /* NULL: the file stays as it is */
                const char *error;
        } cases[] = {
                {NULL, "flush set inet leakguard s\n", "changed since it was written"},
                {"include \"/etc/nftables.conf\"\n", NULL, "not an include of a set file"},
                {"include \"sets-0000000000000000000000000000000000000000000000000000000000000000.nft\"\n", NULL,
                 "not an include of a set file"},
                {"include \"/x/../sets-../../etc/passwd.nft\"\n", NULL, "not an include of a set file"},
                {"include \"/elsewhere/sets-00000000000000000000000000000000000000000000000000000000000000aa.nft\"\n",
                 NULL, "does not exist"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_assert_true(g_file_set_contents(rpath, cases[i].ruleset ? cases[i].ruleset : text, -1, NULL));
                g_assert_true(g_file_set_contents(path, cases[i].set ? cases[i].set : elems, -1, NULL));
                g_autoptr(GError) ei = NULL;
                g_assert_null(lg_state_load_ruleset(dir, &ei));
                g_assert_nonnull(ei);
                if (!strstr(ei->message, cases[i].error))
                        g_error("case %zu: %s", i, ei->message);
        }
        g_unlink(path);
        g_assert_true(g_file_set_contents(rpath, text, -1, NULL));
        g_autoptr(GError) e5 = NULL;
        g_assert_null(lg_state_load_ruleset(dir, &e5));
        g_assert_nonnull(strstr(e5->message, "does not exist"));

        /* Only the files named are kept, and only set files are touched. */
        g_autofree char *other = NULL;
        g_assert_true(lg_state_store_set_text(dir, "x\n", 2, &other, &e));
        g_clear_pointer(&file, g_free);
        g_assert_true(lg_state_store_set_text(dir, elems, strlen(elems), &file, &e));
        const char *keep[] = {file};
        lg_state_remove_set_files(dir, keep, 1);
        g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
        g_autofree char *opath = g_build_filename(dir, other, NULL);
        g_assert_false(g_file_test(opath, G_FILE_TEST_EXISTS));
        g_assert_true(g_file_test(rpath, G_FILE_TEST_EXISTS));
        lg_state_remove_set_files(dir, NULL, 0);
        g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
        g_unlink(rpath);
        g_assert_cmpint(g_rmdir(dir), ==, 0);
        /* A directory that nftables syntax cannot name gets no include (the elements stay inline). */
        g_assert_null(lg_state_include_line("/var/lib/a\"b", file));
        g_assert_null(lg_state_include_line("/var/lib/a\nb", file));
        g_assert_null(lg_state_include_line("/var/lib/*", file));
        g_autofree char *fine = lg_state_include_line("/var/lib/leakguard", file);
        g_autofree char *want_line = g_strdup_printf("include \"/var/lib/leakguard/%s\"\n", file);
        g_assert_cmpstr(fine, ==, want_line);
}

static const char two_lists[] = "policy: two\n"
                                "parameters:\n"
                                "  a: { type: ports }\n"
                                "  b: { type: ports }\n"
                                "sublayers:\n"
                                "  - name: s\n"
                                "    weight: 1\n"
                                "    filters:\n"
                                "      - { name: f, layers: [outbound], weight: 1, action: block,\n"
                                "          match: { remote_port: [$a, $b] } }\n";

static LgValue *ports(guint n) {
        LgValue *v = lg_value_new(LG_TYPE_PORTS);
        g_array_set_size(v->ports, n);
        return v;
}

/* The fallback ruleset in two steps (written while the kernel works, installed once it accepted the
 * change): a staged text is not the ruleset until installed, and a discarded one never becomes it. */
static void test_state_staged_ruleset(void) {
        g_autofree char *dir = g_dir_make_tmp("lg-stage-XXXXXX", NULL);
        g_autofree char *path = g_build_filename(dir, LG_RULESET_FILE, NULL);
        g_autofree char *staged = g_build_filename(dir, LG_RULESET_STAGED, NULL);
        g_autoptr(GError) e = NULL;
        g_assert_true(lg_state_stage_ruleset(dir, "table inet leakguard { }\n", &e) &&
                      lg_state_install_ruleset(dir, &e));
        g_assert_true(lg_state_stage_ruleset(dir, "table inet leakguard { chain a { } }\n", &e));
        g_assert_no_error(e);
        g_autofree char *text = lg_state_load_ruleset(dir, &e);
        g_assert_cmpstr(text, ==, "table inet leakguard { }\n");
        lg_state_discard_ruleset(dir);
        g_assert_false(g_file_test(staged, G_FILE_TEST_EXISTS));
        g_clear_pointer(&text, g_free);
        text = lg_state_load_ruleset(dir, &e);
        g_assert_cmpstr(text, ==, "table inet leakguard { }\n");
        g_assert_true(lg_state_stage_ruleset(dir, "table inet leakguard { chain b { } }\n", &e));
        g_assert_true(lg_state_install_ruleset(dir, &e));
        g_assert_no_error(e);
        g_assert_false(g_file_test(staged, G_FILE_TEST_EXISTS));
        g_clear_pointer(&text, g_free);
        text = lg_state_load_ruleset(dir, &e);
        g_assert_cmpstr(text, ==, "table inet leakguard { chain b { } }\n");
        /* Nothing staged: installing fails and leaves the ruleset alone. */
        g_autoptr(GError) e2 = NULL;
        g_assert_false(lg_state_install_ruleset(dir, &e2));
        g_assert_nonnull(e2);
        lg_state_discard_ruleset(dir); /* nothing to remove: no warning */
        g_clear_pointer(&text, g_free);
        text = lg_state_load_ruleset(dir, &e);
        g_assert_cmpstr(text, ==, "table inet leakguard { chain b { } }\n");
        g_unlink(path);
        g_rmdir(dir);
}

static void test_param_items_total(void) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgPolicy) p = lg_policy_load_data(two_lists, strlen(two_lists), "two.yaml", &e);
        g_assert_no_error(e);
        g_assert_cmpuint(LG_MAX_PARAM_ITEMS, ==, 2000000u);
        g_autoptr(GHashTable) given = lg_params_table_new();
        g_hash_table_insert(given, g_strdup("a"), ports(LG_MAX_PARAM_ITEMS / 2));
        g_hash_table_insert(given, g_strdup("b"), ports(LG_MAX_PARAM_ITEMS / 2));
        g_autoptr(GHashTable) ok = lg_policy_bind_params(p, given, &e);
        g_assert_no_error(e);
        g_assert_nonnull(ok);
        g_hash_table_insert(given, g_strdup("b"), ports(LG_MAX_PARAM_ITEMS / 2 + 1));
        g_assert_null(lg_policy_bind_params(p, given, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "more than 2000000 items in all parameters together");
}

static void test_error_text(void) {
        g_autofree char *same = lg_error_text("plain ünïcödé", 100);
        g_assert_cmpstr(same, ==, "plain ünïcödé");
        g_autofree char *fixed = lg_error_text("bad \xff\xfe byte", 100);
        g_assert_true(g_utf8_validate(fixed, -1, NULL));
        g_assert_true(g_str_has_prefix(fixed, "bad "));
        g_autofree char *cut = lg_error_text("ééééé", 3);
        g_assert_cmpstr(cut, ==, "ééé…");
        g_autofree char *null = lg_error_text(NULL, 3);
        g_assert_cmpstr(null, ==, "");
}

static void test_policy_null_data(void) {
        /* An empty buffer may come as NULL (g_memdup2 of 0 bytes): libyaml asserts on NULL input. */
        g_autoptr(GError) e = NULL;
        g_assert_null(lg_policy_load_data(NULL, 0, "empty.yaml", &e));
        g_assert_nonnull(strstr(e->message, "the file is empty"));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hardening/state/parse-refuses", test_state_parse_refuses);
        g_test_add_func("/hardening/state/round-trip", test_state_round_trip);
        g_test_add_func("/hardening/state/policy-text", test_state_policy_text);
        g_test_add_func("/hardening/state/load-files", test_state_load_files);
        g_test_add_func("/hardening/state/side-files", test_state_side_files);
        g_test_add_func("/hardening/state/staged-ruleset", test_state_staged_ruleset);
        g_test_add_func("/hardening/state/set-files", test_state_set_files);
        g_test_add_func("/hardening/params/items-total", test_param_items_total);
        g_test_add_func("/hardening/error-text", test_error_text);
        g_test_add_func("/hardening/policy/null-data", test_policy_null_data);
        return g_test_run();
}
