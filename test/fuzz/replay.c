/* SPDX-License-Identifier: MIT */
/* Replay driver for fuzz targets without libFuzzer: runs every file of the
 * directories (or the files) named on the command line through
 * LLVMFuzzerTestOneInput.  With no argument it replays FUZZ_CORPUS_DIR, set
 * at compile time.  Link it with one target object.  Fails when an input
 * cannot be read or a directory holds no input, so a lost corpus is noticed;
 * the target itself aborts on a bug. */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0, n;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    do {
        if (len == cap) {
            uint8_t *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int replay_path(const char *path)
{
    struct stat sb;
    DIR *dir;
    struct dirent *de;
    int count = 0;

    if (stat(path, &sb) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode))
        return replay_file(path) == 0 ? 1 : -1;
    dir = opendir(path);
    if (dir == NULL) {
        perror(path);
        return -1;
    }
    while ((de = readdir(dir)) != NULL) {
        char full[4096];
        if (de->d_name[0] == '.')
            continue;
        snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
        if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (replay_file(full) != 0) {
            closedir(dir);
            return -1;
        }
        count++;
    }
    closedir(dir);
    if (count == 0)
        fprintf(stderr, "%s: no inputs\n", path);
    return count > 0 ? count : -1;
}

int main(int argc, char **argv)
{
    int total = 0;

#ifdef FUZZ_CORPUS_DIR
    static char *defaults[] = { NULL, (char *)FUZZ_CORPUS_DIR, NULL };
    if (argc < 2) {
        defaults[0] = argv[0];
        argv = defaults;
        argc = 2;
    }
#endif
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR-OR-FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int n = replay_path(argv[i]);
        if (n < 0)
            return 1;
        printf("%s: %d inputs replayed\n", argv[i], n);
        total += n;
    }
    return total > 0 ? 0 : 1;
}
