/* zone.c — the table of accepted zone codes (see zone.h): ISO 3166-1 alpha-2 (from the tz database's
 * iso3166.tab) and the pool's continent zones. The two-letter continent codes (AS, NA, …) are not accepted:
 * they collide with countries (American Samoa, Namibia). */
#include "zone.h"

#include <ctype.h>
#include <string.h>

static const char *const codes[] = {
    "ad", "ae", "af", "ag", "ai", "al", "am", "ao", "aq", "ar", "as", "at", "au", "aw", "ax", "az",
    "ba", "bb", "bd", "be", "bf", "bg", "bh", "bi", "bj", "bl", "bm", "bn", "bo", "bq", "br", "bs",
    "bt", "bv", "bw", "by", "bz", "ca", "cc", "cd", "cf", "cg", "ch", "ci", "ck", "cl", "cm", "cn",
    "co", "cr", "cu", "cv", "cw", "cx", "cy", "cz", "de", "dj", "dk", "dm", "do", "dz", "ec", "ee",
    "eg", "eh", "er", "es", "et", "fi", "fj", "fk", "fm", "fo", "fr", "ga", "gb", "gd", "ge", "gf",
    "gg", "gh", "gi", "gl", "gm", "gn", "gp", "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk", "hm",
    "hn", "hr", "ht", "hu", "id", "ie", "il", "im", "in", "io", "iq", "ir", "is", "it", "je", "jm",
    "jo", "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw", "ky", "kz", "la", "lb", "lc",
    "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mf", "mg", "mh", "mk",
    "ml", "mm", "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz", "na",
    "nc", "ne", "nf", "ng", "ni", "nl", "no", "np", "nr", "nu", "nz", "om", "pa", "pe", "pf", "pg",
    "ph", "pk", "pl", "pm", "pn", "pr", "ps", "pt", "pw", "py", "qa", "re", "ro", "rs", "ru", "rw",
    "sa", "sb", "sc", "sd", "se", "sg", "sh", "si", "sj", "sk", "sl", "sm", "sn", "so", "sr", "ss",
    "st", "sv", "sx", "sy", "sz", "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to",
    "tr", "tt", "tv", "tw", "tz", "ua", "ug", "um", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi",
    "vn", "vu", "wf", "ws", "ye", "yt", "za", "zm", "zw",
    /* continents, as the pool names its continent zones */
    "africa", "asia", "europe", "north-america", "oceania", "south-america",
};
#define N_CODES (sizeof codes / sizeof codes[0])

unsigned zone_id(const char *code)
{
    if (!code) return 0;
    for (size_t i = 0; i < N_CODES; i++)
        if (strcmp(codes[i], code) == 0) return (unsigned)i + 1;
    return 0;
}

const char *zone_code(unsigned id) { return id >= 1 && id <= N_CODES ? codes[id - 1] : NULL; }

bool zone_is_valid(const char *code) { return zone_id(code) != 0; }

int zone_normalize(const char *code, char out[ZONE_MAX])
{
    if (!code || strlen(code) >= ZONE_MAX) return -1;
    char low[ZONE_MAX];
    size_t i = 0;
    for (; code[i]; i++) low[i] = (char)tolower((unsigned char)code[i]);
    low[i] = '\0';
    if (!zone_is_valid(low)) return -1;
    memcpy(out, low, i + 1);
    return 0;
}

const char *const *zone_codes(size_t *n)
{
    *n = N_CODES;
    return codes;
}
