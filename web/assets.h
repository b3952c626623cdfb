/* assets.h — the web page's files, embedded into ntpmon-web at build time by tools/embed-files.sh from web/page/
 * (one binary to install; the page always matches the API it calls). */
#ifndef NTPMON_WEB_ASSETS_H
#define NTPMON_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;         /* file name, e.g. "app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;         /* quoted, from the content's SHA-256 */
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

/* The asset of that file name, or NULL. */
const struct web_asset *web_asset_find(const char *name);

#endif
