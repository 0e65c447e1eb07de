/* main() for builds without libFuzzer: runs LLVMFuzzerTestOneInput once on every file named on the
 * command line or found (non-recursively) in a directory named there. Used by ctest to replay the
 * seed corpus and fuzz/regressions/ under gcc, ASan+UBSan and valgrind alike. */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path) {
        gchar *data = NULL;
        gsize len = 0;
        GError *e = NULL;
        if (!g_file_get_contents(path, &data, &len, &e)) {
                fprintf(stderr, "%s\n", e->message);
                g_error_free(e);
                return 1;
        }
        /* An exact-size copy, so that a read past the end is caught as it would be under libFuzzer. */
        uint8_t *copy = g_memdup2(data, len);
        g_free(data);
        LLVMFuzzerTestOneInput(copy, len);
        g_free(copy);
        return 0;
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv) {
        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        int failed = 0, n = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        failed++;
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed += run_file(argv[i]);
                        n++;
                        continue;
                }
                GPtrArray *files = g_ptr_array_new_with_free_func(g_free);
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                while (d && (de = readdir(d)))
                        if (de->d_name[0] != '.')
                                g_ptr_array_add(files, g_build_filename(argv[i], de->d_name, NULL));
                if (d)
                        closedir(d);
                if (files->len > 0)
                        qsort(files->pdata, files->len, sizeof(void *), cmp);
                for (guint j = 0; j < files->len; j++) {
                        struct stat fst;
                        if (stat(files->pdata[j], &fst) == 0 && S_ISREG(fst.st_mode)) {
                                failed += run_file(files->pdata[j]);
                                n++;
                        }
                }
                g_ptr_array_unref(files);
        }
        printf("%s: %d inputs replayed, %d unreadable\n", argv[0], n, failed);
        return failed ? 1 : 0;
}
