/* scorer-parse.c — the JSON ceiling under `ntpmon-scorer replay`: how many result lines per second one core can
 * (1) parse with json-c alone (reused tokener, the DOM freed) and (2) decode and validate with the shared
 * msg_result_decode, on the same input the replay benchmark uses.
 *   scorer-parse FILE.jsonl  → "json-c parse R/s; msg_result_decode R/s (N lines)" */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "timeutil.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: scorer-parse FILE.jsonl\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    char **lines = NULL, *line = NULL;
    size_t n = 0, cap = 0, lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (line[len - 1] == '\n') line[--len] = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            lines = realloc(lines, cap * sizeof *lines);
        }
        lines[n++] = strdup(line);
    }
    fclose(f);
    free(line);
    /* best of three passes each: the machine is shared */
    json_tokener *tok = json_tokener_new();
    static struct msg_result r;
    char err[MSG_ERR_LEN];
    size_t bad = 0;
    int64_t best_parse = INT64_MAX, best_decode = INT64_MAX;
    for (int pass = 0; pass < 3; pass++) {
        int64_t t0 = time_mono_us();
        for (size_t i = 0; i < n; i++) {
            json_tokener_reset(tok);
            json_object_put(json_tokener_parse_ex(tok, lines[i], (int)strlen(lines[i])));
        }
        int64_t t1 = time_mono_us();
        bad = 0;
        for (size_t i = 0; i < n; i++)
            if (msg_result_decode(lines[i], strlen(lines[i]), &r, err) < 0) bad++;
        int64_t t2 = time_mono_us();
        if (t1 - t0 < best_parse) best_parse = t1 - t0;
        if (t2 - t1 < best_decode) best_decode = t2 - t1;
    }
    printf("json-c parse %.0f/s; msg_result_decode %.0f/s (%zu lines, %zu invalid)\n", n / (best_parse / 1e6),
           n / (best_decode / 1e6), n, bad);
    json_tokener_free(tok);
    for (size_t i = 0; i < n; i++) free(lines[i]);
    free(lines);
    return 0;
}
