/* tiles.h - which participants a bench receiver shows when it is limited to N tiles (--tiles N), by
 * the web app's speaker view rule (web/js/layout.js `LayoutState.view()` in mode 'speaker', with a
 * strip of N - 1 tiles): the main tile is the first recent speaker that is someone else and still
 * here (before anybody spoke, the first other participant; alone, ourselves); the strip shows the
 * others, recent speakers first, then everyone in join order (ourselves first), at most N - 1 of
 * them. Our own tile is a local preview: it takes a place but receives nothing.
 *
 * Also the arithmetic of --audio-turn-ms (bench/media.c): participant i of a room of `count` speaks
 * while (now / turn) % count == i, on the monotonic clock every bench thread shares, so a receiver
 * can tell when the turn of the participant the SFU names started.
 *
 * Pure: no I/O, no clock, no allocation (fixed arrays). One bench_tiles per receiving session, used
 * by its worker only.
 */
#ifndef BENCH_TILES_H
#define BENCH_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_TILES_MAX 9         /* the main tile + web/js/layout.js STRIP_MAX (8) */
#define BENCH_TILES_MAX_USERS 128 /* others in the meeting (MAX_PARTICIPANTS is 50 by default) */
#define BENCH_TILES_MAX_SPEAKERS 8
#define BENCH_TILES_ID 64

typedef struct bench_tiles_user {
    char id[BENCH_TILES_ID];
    int index; /* the bench participant's index from its name ("bench r0 p7" -> 7), -1 for others */
} bench_tiles_user;

typedef struct bench_tiles {
    int tiles;                                  /* 1..BENCH_TILES_MAX */
    char self[BENCH_TILES_ID];
    bench_tiles_user users[BENCH_TILES_MAX_USERS]; /* the others, in join order */
    size_t n_users;
    char speakers[BENCH_TILES_MAX_SPEAKERS][BENCH_TILES_ID]; /* the server's list, dominant first */
    size_t n_speakers;
    char shown[BENCH_TILES_MAX][BENCH_TILES_ID]; /* after bench_tiles_layout: shown[0] is the main tile */
    size_t n_shown;
} bench_tiles;

/* Empty state for `tiles` tiles (clamped to 1..BENCH_TILES_MAX). */
void bench_tiles_init(bench_tiles *t, int tiles);
void bench_tiles_set_self(bench_tiles *t, const char *id);
/* A participant joined (appended; ignored when already known or full). name: its username. */
void bench_tiles_add(bench_tiles *t, const char *id, const char *name);
void bench_tiles_remove(bench_tiles *t, const char *id);
/* The server's active-speakers list (ids longer than BENCH_TILES_ID - 1 are skipped). */
void bench_tiles_set_speakers(bench_tiles *t, const char *const *ids, size_t n);
/* Recomputes shown[]; true when it changed. */
bool bench_tiles_layout(bench_tiles *t);
/* Where user_id is: 0 the main tile, 1 the strip, -1 not shown. */
int bench_tiles_place(const bench_tiles *t, const char *user_id);
/* The bench index of a known other participant, -1 when unknown or not a bench participant. */
int bench_tiles_index_of(const bench_tiles *t, const char *user_id);
/* The bench participant index in a username "bench rR pI" (or "bench rR sI"), -1 otherwise. */
int bench_tiles_name_index(const char *name);

/* The start (µs, same clock as now_us) of the latest turn of participant `index` that began at or
 * before now_us, with turns of turn_us each among `count` participants; -1 for bad arguments. */
int64_t bench_turn_start(int64_t now_us, int64_t turn_us, unsigned index, unsigned count);

#endif
