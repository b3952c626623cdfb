/* assets.c — looking up the embedded page files (the table itself is generated: build/gen/web_assets.c). */
#include "assets.h"

#include <string.h>

const struct web_asset *web_asset_find(const char *name)
{
    for (size_t i = 0; i < web_assets_count; i++)
        if (strcmp(web_assets[i].name, name) == 0) return &web_assets[i];
    return NULL;
}
