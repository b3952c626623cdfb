/* cmd_settings.c — `ntpmonctl settings get|set KEY [JSON]`: system_settings rows (e.g. 'selector' targets; the
 * mass-outage guard's 'guard' settings are checked against their table before they are stored). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "guardconf.h"

static bool key_ok(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > 255) return false;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.')) return false;
    return true;
}

static int print_value(void *arg, const struct db_row *row)
{
    *(int *)arg = 1;
    printf("%s\n", db_row_str(row, 0));
    return 0;
}

int cmd_settings_get(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: settings get KEY");
    if (!key_ok(argv[0])) return ctl_fail("invalid settings key '%s'", argv[0]);
    int found = 0;
    struct db_param p[] = {DB_STR(argv[0])};
    if (db_query(ctl_db(ctx), "SELECT value FROM system_settings WHERE `key` = ?", p, 1, print_value, &found) < 0)
        return ctl_db_fail(ctx, "reading the setting");
    if (!found) return ctl_fail("no setting '%s' (defaults apply)", argv[0]);
    return 0;
}

int cmd_settings_set(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 2) return ctl_fail("usage: settings set KEY JSON");
    if (!key_ok(argv[0])) return ctl_fail("invalid settings key '%s'", argv[0]);
    enum json_tokener_error jerr;
    json_object *v = json_tokener_parse_verbose(argv[1], &jerr);
    if (!v) return ctl_fail("invalid JSON for %s: %s", argv[0], json_tokener_error_desc(jerr));
    const char *canon = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    if (strcmp(argv[0], GUARD_SETTINGS_KEY) == 0) { /* the scorer would refuse them: refuse them here first */
        char err[CONFTAB_ERR_LEN], unknown[256];
        struct guard_settings g;
        if (guard_settings_parse(canon, &g, err, unknown, sizeof unknown) < 0) {
            json_object_put(v);
            return ctl_fail("%s; nothing stored", err);
        }
        if (unknown[0]) {
            json_object_put(v);
            return ctl_fail("unknown guard settings: %s; nothing stored", unknown);
        }
    }
    struct db_param p[] = {DB_STR(argv[0]), DB_STR(canon)};
    int rc = db_execp(ctl_db(ctx),
                      "INSERT INTO system_settings (`key`, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
                      p, 2, NULL, NULL);
    if (rc < 0) {
        json_object_put(v);
        return ctl_db_fail(ctx, "saving the setting");
    }
    printf("%s = %s\n", argv[0], canon);
    json_object_put(v);
    return 0;
}
