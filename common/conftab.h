/* conftab.h — table-driven JSON settings stored in system_settings (one row per setting: JSON key, storage in
 * the caller's struct, default, bounds, meaning — like redis' config table). The selector ('selector') and the
 * scorer's mass-outage guard ('guard') describe their settings with it; ntpmonctl validates with the same
 * tables. A bad value is refused with a reason naming the key and leaves the caller's struct untouched. */
#ifndef NTPMON_CONFTAB_H
#define NTPMON_CONFTAB_H

#include <stdbool.h>
#include <stddef.h>

#define CONFTAB_ERR_LEN 256

enum conftab_kind {
    CONFTAB_INT,    /* int; a whole JSON number */
    CONFTAB_DOUBLE, /* double */
    CONFTAB_BOOL,   /* bool; JSON true/false (or 0/1) */
};

struct conftab_row {
    const char *key;
    enum conftab_kind kind;
    size_t offset; /* offsetof(struct …, field) */
    double def, min, max;
    const char *help;
};

struct conftab {
    const char *name; /* the system_settings key, e.g. "selector" */
    const struct conftab_row *rows;
    size_t n_rows;
    size_t size;      /* sizeof the struct the rows point into */
};

/* Fills every setting with its default (the rest of the struct is zeroed). */
void conftab_defaults(const struct conftab *t, void *s);
/* Applies a JSON object over the defaults into out: unknown keys are ignored (listed in `unknown`, comma
 * separated, when not NULL); a wrong type or an out-of-range value is an error naming the key, and out is left
 * untouched. NULL or "" gives the defaults. 0 or -1. */
int conftab_parse(const struct conftab *t, const char *json, void *out, char err[CONFTAB_ERR_LEN],
                   char *unknown, size_t unknown_len);
/* Merges two JSON objects (either may be NULL): the keys of `over` replace those of `base`. A malloc'd JSON
 * text, or NULL with err when either is not a JSON object. */
char *conftab_merge(const struct conftab *t, const char *base, const char *over, char err[CONFTAB_ERR_LEN]);
/* A JSON object from KEY=VALUE words (values are JSON: numbers, true, false); NULL with err on a bad word. */
char *conftab_from_words(const char *const *words, size_t n, char err[CONFTAB_ERR_LEN]);
/* The settings as a JSON object (malloc'd), every key with its value. */
char *conftab_to_json(const struct conftab *t, const void *s);
/* Prints the table (key, default, meaning, bounds) on stdout. */
void conftab_print_table(const struct conftab *t);
/* True when every setting of the table is the same in a and b. */
bool conftab_equal(const struct conftab *t, const void *a, const void *b);

#endif
