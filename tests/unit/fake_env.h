/* fake_env.h - a fake environment for config_load() in the unit tests: set fake_env to a
 * NULL-terminated list of name, value pairs and pass lookup as the getenv function. */
#ifndef VM_TEST_FAKE_ENV_H
#define VM_TEST_FAKE_ENV_H

#include <string.h>

static const char *const *fake_env;
static const char *lookup(const char *name)
{
    for (const char *const *p = fake_env; p && *p; p += 2) {
        if (!strcmp(p[0], name))
            return p[1];
    }
    return NULL;
}

#endif
