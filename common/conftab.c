/* conftab.c — parsing, printing and comparing table-driven settings with json-c (see conftab.h). */
#include "conftab.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void store(void *s, const struct conftab_row *r, double v)
{
    char *base = (char *)s + r->offset;
    if (r->kind == CONFTAB_INT) *(int *)base = (int)v;
    else if (r->kind == CONFTAB_BOOL) *(bool *)base = v != 0;
    else *(double *)base = v;
}

static double load(const void *s, const struct conftab_row *r)
{
    const char *base = (const char *)s + r->offset;
    if (r->kind == CONFTAB_INT) return *(const int *)base;
    if (r->kind == CONFTAB_BOOL) return *(const bool *)base;
    return *(const double *)base;
}

void conftab_defaults(const struct conftab *t, void *s)
{
    memset(s, 0, t->size);
    for (size_t i = 0; i < t->n_rows; i++) store(s, &t->rows[i], t->rows[i].def);
}

static const struct conftab_row *find_row(const struct conftab *t, const char *key)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i].key, key) == 0) return &t->rows[i];
    return NULL;
}

/* One value into s; -1 with err when it has the wrong type or is out of bounds. */
static int apply_value(const struct conftab *t, const struct conftab_row *r, json_object *val, void *s,
                       char err[CONFTAB_ERR_LEN])
{
    if (r->kind == CONFTAB_BOOL) {
        bool numeric = json_object_is_type(val, json_type_int);
        int64_t iv = numeric ? json_object_get_int64(val) : -1;
        if (json_object_is_type(val, json_type_boolean)) iv = json_object_get_boolean(val);
        if (iv != 0 && iv != 1) {
            snprintf(err, CONFTAB_ERR_LEN, "setting %s.%s must be true or false", t->name, r->key);
            return -1;
        }
        store(s, r, (double)iv);
        return 0;
    }
    bool numeric = json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double);
    double v = numeric ? json_object_get_double(val) : NAN;
    if (!numeric || !isfinite(v)) {
        snprintf(err, CONFTAB_ERR_LEN, "setting %s.%s must be a number", t->name, r->key);
        return -1;
    }
    if (r->kind == CONFTAB_INT && v != floor(v)) {
        snprintf(err, CONFTAB_ERR_LEN, "setting %s.%s must be a whole number (got %g)", t->name, r->key, v);
        return -1;
    }
    if (v < r->min || v > r->max) {
        snprintf(err, CONFTAB_ERR_LEN, "setting %s.%s must be between %g and %g (got %g)", t->name, r->key, r->min,
                 r->max, v);
        return -1;
    }
    store(s, r, v);
    return 0;
}

int conftab_parse(const struct conftab *t, const char *json, void *out, char err[CONFTAB_ERR_LEN],
                   char *unknown, size_t unknown_len)
{
    if (unknown && unknown_len) unknown[0] = '\0';
    void *s = xmalloc(t->size);
    conftab_defaults(t, s);
    int rc = 0;
    json_object *o = NULL;
    if (json && *json) {
        enum json_tokener_error jerr;
        o = json_tokener_parse_verbose(json, &jerr);
        if (!o) {
            snprintf(err, CONFTAB_ERR_LEN, "settings '%s' are not valid JSON: %s", t->name,
                     json_tokener_error_desc(jerr));
            rc = -1;
        } else if (!json_object_is_type(o, json_type_object)) {
            snprintf(err, CONFTAB_ERR_LEN, "settings '%s' must be a JSON object", t->name);
            rc = -1;
        }
    }
    if (rc == 0 && o) {
        json_object_object_foreach(o, key, val)
        {
            const struct conftab_row *r = find_row(t, key);
            if (!r) {
                if (unknown && unknown_len) {
                    size_t used = strlen(unknown);
                    snprintf(unknown + used, unknown_len - used, "%s%s", used ? "," : "", key);
                }
                continue;
            }
            if (apply_value(t, r, val, s, err) < 0) {
                rc = -1;
                break;
            }
        }
    }
    json_object_put(o);
    if (rc == 0) memcpy(out, s, t->size);
    free(s);
    return rc;
}

static json_object *parse_object(const char *text, const char *what, const char *name, char err[CONFTAB_ERR_LEN])
{
    if (!text || !*text) return json_object_new_object();
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(err, CONFTAB_ERR_LEN, "%s%s%s must be a JSON object%s%s", what, name ? " " : "", name ? name : "",
                 o ? "" : ": ", o ? "" : json_tokener_error_desc(jerr));
        json_object_put(o);
        return NULL;
    }
    return o;
}

char *conftab_merge(const struct conftab *t, const char *base, const char *over, char err[CONFTAB_ERR_LEN])
{
    char quoted[96];
    snprintf(quoted, sizeof quoted, "'%s'", t->name);
    json_object *b = parse_object(base, "settings", quoted, err);
    if (!b) return NULL;
    json_object *o = parse_object(over, "the overrides", NULL, err);
    if (!o) {
        json_object_put(b);
        return NULL;
    }
    json_object_object_foreach(o, key, val) json_object_object_add(b, key, json_object_get(val));
    char *out = xstrdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
    json_object_put(b);
    json_object_put(o);
    return out;
}

char *conftab_from_words(const char *const *words, size_t n, char err[CONFTAB_ERR_LEN])
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(words[i], '=');
        json_object *v = eq && eq[1] ? json_tokener_parse(eq + 1) : NULL;
        if (!eq || eq == words[i] || !v) {
            snprintf(err, CONFTAB_ERR_LEN, "invalid setting '%s' (want KEY=VALUE, e.g. min_count=3)", words[i]);
            json_object_put(v);
            json_object_put(o);
            return NULL;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - words[i]), words[i]);
        json_object_object_add(o, key, v);
    }
    char *out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return out;
}

char *conftab_to_json(const struct conftab *t, const void *s)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct conftab_row *r = &t->rows[i];
        double v = load(s, r);
        json_object *jv = r->kind == CONFTAB_INT    ? json_object_new_int((int)v)
                          : r->kind == CONFTAB_BOOL ? json_object_new_boolean(v != 0)
                                                     : json_object_new_double(v);
        json_object_object_add(o, r->key, jv);
    }
    char *out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return out;
}

void conftab_print_table(const struct conftab *t)
{
    printf("system_settings '%s' (JSON object; every key optional):\n", t->name);
    for (size_t i = 0; i < t->n_rows; i++) {
        const struct conftab_row *r = &t->rows[i];
        if (r->kind == CONFTAB_BOOL) printf("  %-26s %-8s %s [true|false]\n", r->key, r->def != 0 ? "true" : "false", r->help);
        else printf("  %-26s %-8g %s [%g..%g]\n", r->key, r->def, r->help, r->min, r->max);
    }
}

bool conftab_equal(const struct conftab *t, const void *a, const void *b)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (load(a, &t->rows[i]) != load(b, &t->rows[i])) return false;
    return true;
}
