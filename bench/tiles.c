/* tiles.c - the tiles a bench receiver shows (web/js/layout.js's speaker view) and the audio turns'
 * arithmetic (see tiles.h). Pure code.
 */
#include "bench/tiles.h"

#include <stdio.h>
#include <string.h>

static void copy_id(char dst[BENCH_TILES_ID], const char *src)
{
    snprintf(dst, BENCH_TILES_ID, "%s", src ? src : "");
}

void bench_tiles_init(bench_tiles *t, int tiles)
{
    memset(t, 0, sizeof(*t));
    t->tiles = tiles < 1 ? 1 : tiles > BENCH_TILES_MAX ? BENCH_TILES_MAX : tiles;
}

void bench_tiles_set_self(bench_tiles *t, const char *id)
{
    copy_id(t->self, id);
}

static long find_user(const bench_tiles *t, const char *id)
{
    for (size_t i = 0; i < t->n_users; i++)
        if (!strcmp(t->users[i].id, id))
            return (long)i;
    return -1;
}

int bench_tiles_name_index(const char *name)
{
    int room, index;
    char kind;
    if (!name || sscanf(name, "bench r%d %c%d", &room, &kind, &index) != 3 || (kind != 'p' && kind != 's') ||
        index < 0)
        return -1;
    return index;
}

void bench_tiles_add(bench_tiles *t, const char *id, const char *name)
{
    if (!id || !*id || strlen(id) >= BENCH_TILES_ID || !strcmp(id, t->self) || find_user(t, id) >= 0 ||
        t->n_users >= BENCH_TILES_MAX_USERS)
        return;
    bench_tiles_user *u = &t->users[t->n_users++];
    copy_id(u->id, id);
    u->index = bench_tiles_name_index(name);
}

void bench_tiles_remove(bench_tiles *t, const char *id)
{
    long i = id ? find_user(t, id) : -1;
    if (i < 0)
        return;
    memmove(&t->users[i], &t->users[i + 1], (t->n_users - (size_t)i - 1) * sizeof(t->users[0]));
    t->n_users--;
}

void bench_tiles_set_speakers(bench_tiles *t, const char *const *ids, size_t n)
{
    t->n_speakers = 0;
    for (size_t i = 0; i < n && t->n_speakers < BENCH_TILES_MAX_SPEAKERS; i++) {
        if (ids[i] && strlen(ids[i]) < BENCH_TILES_ID)
            copy_id(t->speakers[t->n_speakers++], ids[i]);
    }
}

static bool present(const bench_tiles *t, const char *id)
{
    return (t->self[0] && !strcmp(id, t->self)) || find_user(t, id) >= 0;
}

/* Appends id to out (n entries, cap) unless it is there already. */
static void push_unique(char out[][BENCH_TILES_ID], size_t *n, size_t cap, const char *id)
{
    if (*n >= cap)
        return;
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(out[i], id))
            return;
    copy_id(out[(*n)++], id);
}

bool bench_tiles_layout(bench_tiles *t)
{
    char prev[BENCH_TILES_MAX][BENCH_TILES_ID];
    size_t n_prev = t->n_shown;
    memcpy(prev, t->shown, sizeof(prev));
    /* main: the first recent speaker still here that is not us; else the first other; else us */
    const char *main = NULL;
    for (size_t i = 0; i < t->n_speakers && !main; i++)
        if (strcmp(t->speakers[i], t->self) && present(t, t->speakers[i]))
            main = t->speakers[i];
    if (!main && t->n_users)
        main = t->users[0].id;
    if (!main && t->self[0])
        main = t->self;
    t->n_shown = 0;
    if (main) {
        char m[BENCH_TILES_ID];
        copy_id(m, main);
        copy_id(t->shown[t->n_shown++], m);
        /* the strip: recent speakers (here), then everyone in join order, us first */
        for (size_t i = 0; i < t->n_speakers; i++)
            if (present(t, t->speakers[i]))
                push_unique(t->shown, &t->n_shown, (size_t)t->tiles, t->speakers[i]);
        if (t->self[0])
            push_unique(t->shown, &t->n_shown, (size_t)t->tiles, t->self);
        for (size_t i = 0; i < t->n_users; i++)
            push_unique(t->shown, &t->n_shown, (size_t)t->tiles, t->users[i].id);
    }
    if (n_prev != t->n_shown)
        return true;
    for (size_t i = 0; i < n_prev; i++)
        if (strcmp(prev[i], t->shown[i]))
            return true;
    return false;
}

int bench_tiles_place(const bench_tiles *t, const char *user_id)
{
    for (size_t i = 0; user_id && i < t->n_shown; i++)
        if (!strcmp(t->shown[i], user_id))
            return i == 0 ? 0 : 1;
    return -1;
}

int bench_tiles_index_of(const bench_tiles *t, const char *user_id)
{
    long i = user_id ? find_user(t, user_id) : -1;
    return i < 0 ? -1 : t->users[i].index;
}

int64_t bench_turn_start(int64_t now_us, int64_t turn_us, unsigned index, unsigned count)
{
    if (now_us < 0 || turn_us <= 0 || count == 0 || index >= count)
        return -1;
    int64_t k = now_us / turn_us; /* the turn running now */
    int64_t back = ((k - (int64_t)index) % (int64_t)count + (int64_t)count) % (int64_t)count;
    return k - back < 0 ? -1 : (k - back) * turn_us;
}
