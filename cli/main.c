/*
 * main.c - `vigil` dispatches to one subcommand; it holds no logic itself.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"scan", cmd_scan, "run the device module and the analyzer over a capture"},
    {"analyze", cmd_analyze, "run the analyzer over report files from vigil-agent"},
    {"devices", cmd_devices, "list the devices in the store, or tag one"},
    {"alerts", cmd_alerts, "list the alerts in the store"},
    {"recommendations", cmd_recommendations, "list the current recommendations in the store"},
    {"decode", cmd_decode, "print device reports as JSON lines"},
    {"intel", cmd_intel, "check addresses against threat-intelligence feeds"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: vigil COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vigil: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
