/*
 * replay_main.c - runs a libFuzzer harness over files and directories of
 * inputs without libFuzzer, so gcc builds replay every seed as a regression
 * test. Never generates inputs: that is the fuzzer's job.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    static uint8_t buffer[1 << 20];
    size_t n = fread(buffer, 1, sizeof buffer, f);
    fclose(f);
    /* A copy of exactly n bytes, so ASan/valgrind catch any read past it. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return 1;
    memcpy(copy, buffer, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        return 1;
    }
    int failed = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        failed |= replay_path(child, count);
    }
    closedir(dir);
    return failed;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++)
        failed |= replay_path(argv[i], &count);
    printf("replayed %u inputs\n", count);
    return failed || count == 0;
}
