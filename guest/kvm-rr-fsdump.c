/*
 * kvm-rr-fsdump DIR: prints a file-system tree as the pmem checker compares it
 * (kvm-rr pmem-check): one line per file, sorted by path,
 *   F <type f|d|l|o> <mode octal> <nlink> <size> <hash> <path>
 * where hash is the file's content (target for a symlink, 0 otherwise), and for regular
 * files up to 64 KiB one line per 64-byte chunk,
 *   C <chunk index> <hash> <path>
 * so the checker can tell a torn write (each chunk old or new) from a wrong one. Times and
 * inode numbers are left out: a crash state equals another by content and shape.
 * The hash is 64-bit FNV-1a; host and guest only compare hashes this program made.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 64
#define MAX_CHUNKED (64 * 1024)

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int failed;

static void dump(const char *root, const char *rel)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    if (lstat(path, &st) != 0) {
        fprintf(stderr, "kvm-rr-fsdump: %s: %s\n", path, strerror(errno));
        failed = 1;
        return;
    }
    char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
    uint64_t h = 0;
    static unsigned char buf[MAX_CHUNKED];
    size_t have = 0;
    if (type == 'f') {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "kvm-rr-fsdump: %s: %s\n", path, strerror(errno));
            failed = 1;
            return;
        }
        h = FNV_INIT;
        unsigned char b[65536];
        ssize_t n;
        while ((n = read(fd, b, sizeof b)) > 0) {
            h = fnv(h, b, (size_t)n);
            if (have + (size_t)n <= sizeof buf) {
                memcpy(buf + have, b, (size_t)n);
            }
            have += (size_t)n;
        }
        if (n < 0) {
            fprintf(stderr, "kvm-rr-fsdump: %s: read: %s\n", path, strerror(errno));
            failed = 1;
        }
        close(fd);
    } else if (type == 'l') {
        char t[4096];
        ssize_t n = readlink(path, t, sizeof t);
        h = fnv(FNV_INIT, (unsigned char *)t, n > 0 ? (size_t)n : 0);
    }
    printf("F %c %o %lu %lld %016llx /%s\n", type, (unsigned)(st.st_mode & 07777),
           (unsigned long)st.st_nlink, type == 'd' ? 0LL : (long long)st.st_size,
           (unsigned long long)h, rel);
    if (type == 'f' && have <= MAX_CHUNKED) {
        for (size_t off = 0; off < have; off += CHUNK) {
            size_t n = have - off < CHUNK ? have - off : CHUNK;
            printf("C %zu %016llx /%s\n", off / CHUNK, (unsigned long long)fnv(FNV_INIT, buf + off, n), rel);
        }
    }
    if (type != 'd') {
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "kvm-rr-fsdump: %s: %s\n", path, strerror(errno));
        failed = 1;
        return;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        names = realloc(names, (count + 1) * sizeof *names);
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, cmp);
    for (size_t i = 0; i < count; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        dump(root, sub);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: kvm-rr-fsdump DIR\n");
        return 2;
    }
    dump(argv[1], "");
    return failed;
}
