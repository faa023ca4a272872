/*
 * Large outputs end to end against florasim: downloads go to disk as they
 * arrive and into the volume a piece at a time, so florabatch's memory does
 * not follow the outputs' size; every byte still matches its sha256, and
 * at rest the folder holds each output once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "e2e.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>

#define KEY "sk_test_storage"

static int teardown(void **state)
{
	return e2e_world_teardown(state);
}

/* "peak RSS 14.6 MiB" from the summary, in MiB; -1 when absent. */
static double peak_rss_mib(const char *err)
{
	const char *p = strstr(err ? err : "", "peak RSS ");
	return p ? atof(p + 9) : -1;
}

static long long file_size(const char *dir, const char *name)
{
	char *p = tu_path(dir, name);
	struct stat st;
	long long n = stat(p, &st) ? -1 : (long long)st.st_size;
	free(p);
	return n;
}

/* m.csv in the world's folder: n cctv-cam rows named <prefix>-<i>. */
static void write_manifest(struct e2e_world *w, const char *prefix, int n)
{
	char *m = tu_path(w->dir, "m.csv");
	FILE *f = fopen(m, "w");
	assert_non_null(f);
	fputs("id,input_image\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s-%d,https://storage.googleapis.com/%s/%d.png\n", prefix, i, prefix,
			i);
	fclose(f);
	free(m);
}

/* out/results.jsonl has n completed lines, and every output is in the archive once. */
static void assert_completed_archived(struct e2e_world *w, size_t n)
{
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), n);
	char *vol = tu_path(w->dir, "out/outputs.tar.gz");
	e2e_assert_archive(&l, vol);
	free(vol);
	e2e_lines_free(&l);
}

static void test_large_outputs_stream_to_disk(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 300ms --output-bytes 16M");
	write_manifest(w, "big", 8);
	struct e2e_run r = e2e_world_run(
	    w, KEY, "m.csv --technique cctv-cam --out out --concurrency 8 --summary block");
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	double rss = peak_rss_mib(r.err);
	print_message("8 outputs of 16 MiB, 8 in flight: peak RSS %.1f MiB\n", rss);
	/* Held in memory, the eight downloads alone would take 128 MiB. */
	if (E2E_MEASURED)
		assert_true(rss > 0 && rss < 48);
	e2e_run_free(&r);
	assert_completed_archived(w, 8);
	/* At rest: the volume holds the outputs, the spool nothing. */
	assert_int_equal(file_size(w->dir, "out/spool.dat"), 0);
	long long v = file_size(w->dir, "out/outputs.tar.gz");
	assert_true(v >= 8LL * 16 * 1024 * 1024 && v < 8LL * 16 * 1024 * 1024 * 11 / 10);
}

/*
 * Downloads cut short halfway (florasim --fault-truncate): each retry asks
 * for the rest, the bytes had already are kept (florasim answers a range
 * whole, so the transport drops them on the way), and every output still
 * matches its sha256.
 */
static void test_cut_downloads_resume(void **state)
{
	struct e2e_world *w =
	    e2e_world_start(state, KEY, "--run-time 200ms --output-bytes 4M --fault-truncate 0.5");
	write_manifest(w, "cut", 12);
	struct e2e_run r = e2e_world_run(
	    w, KEY, "m.csv --technique cctv-cam --out out --concurrency 4 --verbose --retries 8");
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	/* At least one retry went on from where the cut left it. */
	const char *p = r.err;
	int resumed = 0;
	while ((p = strstr(p, "from byte ")) && !resumed) {
		p += 10;
		resumed = atoll(p) > 0;
	}
	assert_true(resumed);
	e2e_run_free(&r);
	assert_completed_archived(w, 12);
}

/*
 * Three invocations, each adding items, make three volumes; pack merges
 * them into one archive with every output once, leaves the volumes as they
 * were, and can run again.
 */
static void test_pack_merges_volumes(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms");
	for (int round = 1; round <= 3; round++) {
		write_manifest(w, "p", 4 * round);
		struct e2e_run r =
		    e2e_world_run(w, KEY, "m.csv --technique cctv-cam --out out --quiet");
		assert_int_equal(r.status, 0);
		e2e_run_free(&r);
	}
	long long v3 = file_size(w->dir, "out/outputs.0003.tar.gz");
	assert_true(v3 > 0);
	char cmd[4096];
	for (int twice = 0; twice < 2; twice++) {
		snprintf(cmd, sizeof(cmd), "'%s' pack '%s/out'", tu_env("FB_BIN"), w->dir);
		assert_int_equal(tu_run(cmd, NULL, NULL), 0);
	}
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(l.n, 12);
	char *packed = tu_path(w->dir, "out/outputs-all.tar.gz"), why[512];
	if (e2e_check_packed(packed, &l, why, sizeof(why)))
		print_error("%s\n", why);
	assert_int_equal(e2e_check_packed(packed, &l, why, sizeof(why)), 0);
	free(packed);
	e2e_lines_free(&l);
	assert_int_equal(file_size(w->dir, "out/outputs.0003.tar.gz"), v3);
	/* A folder without volumes: nothing to pack, said so. */
	snprintf(cmd, sizeof(cmd), "'%s' pack '%s'", tu_env("FB_BIN"), w->dir);
	assert_int_equal(tu_run(cmd, NULL, NULL), 2);
}

/*
 * The folder's disk fills up mid-batch (a file size limit stands in for it:
 * writes past it fail as on a full disk): the batch stops with the output
 * I/O status and a message naming the file, every line written stays
 * whole, and the same command with room again finishes the rest without
 * creating any run twice.
 */
static void test_full_disk_then_room_again(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms --output-bytes 4M");
	write_manifest(w, "full", 8);
	char cmd[4096];
	char *out = NULL, *err = NULL;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && ulimit -f 20000 && FLORA_API_KEY=" KEY " exec '%s' run m.csv "
		 "--transport http --base-url %s --technique cctv-cam --out out --concurrency 8",
		 w->dir, tu_env("FB_BIN"), w->sim.base);
	int st = tu_run(cmd, &out, &err);
	if (st != 4)
		print_error("exit %d; stderr:\n%s\n", st, err);
	assert_int_equal(st, 4);
	assert_non_null(strstr(err, "out/"));
	assert_non_null(strstr(err, "File too large"));
	free(out);
	free(err);
	/* Whatever lines were written are whole. */
	struct e2e_lines l = e2e_world_results(w);
	assert_true(l.n < 8);
	e2e_lines_free(&l);
	struct e2e_run r = e2e_world_run(
	    w, KEY, "m.csv --technique cctv-cam --out out --concurrency 8 --summary block");
	if (r.status)
		print_error("the run with room again: exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	assert_completed_archived(w, 8);
	yajl_val stv = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(stv, "runs_created", NULL), 8);
	assert_int_equal(e2e_num(stv, "max_runs_per_key", NULL), 1);
	yajl_tree_free(stv);
}

/*
 * kill -9 while a volume is being written: the half volume is a temporary
 * file no run trusts; the re-run builds the volume again, under the same
 * name, and every output is in it exactly once.
 */
static void test_kill_while_archiving(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 100ms --output-bytes 24M");
	write_manifest(w, "arch", 8);
	char args[1024];
	snprintf(args, sizeof(args),
		 "run m.csv --transport http --base-url %s --technique cctv-cam --out out "
		 "--concurrency 8",
		 w->sim.base);
	int pid = e2e_florabatch_spawn(w->dir, KEY, args, "first");
	char *tmp = tu_path(w->dir, "out/outputs.tar.gz.tmp");
	struct stat st;
	long long until = e2e_now_ms() + e2e_patience_ms(30000);
	while (stat(tmp, &st) != 0 || st.st_size == 0) {
		if (e2e_wait(pid, 0) >= 0 || e2e_now_ms() > until) {
			print_error("the volume was never seen half written\n");
			fail();
		}
		e2e_sleep_ms(2);
	}
	kill(pid, SIGKILL);
	assert_int_equal(e2e_wait(pid, 5000), 128 + SIGKILL);
	assert_int_equal(file_size(w->dir, "out/outputs.tar.gz"), -1);
	yajl_val before = e2e_sim_get_json(&w->sim, "/_sim/stats");
	long long runs = e2e_num(before, "runs_created", NULL);
	yajl_tree_free(before);
	assert_int_equal(runs, 8);

	struct e2e_run r = e2e_world_run(w, KEY, "m.csv --technique cctv-cam --out out");
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	assert_completed_archived(w, 8);
	assert_int_equal(file_size(w->dir, "out/outputs.tar.gz.tmp"), -1);
	assert_int_equal(file_size(w->dir, "out/outputs.0002.tar.gz"), -1);
	yajl_val stv = e2e_sim_get_json(&w->sim, "/_sim/stats");
	assert_int_equal(e2e_num(stv, "runs_created", NULL), runs); /* nothing paid twice */
	yajl_tree_free(stv);
	free(tmp);
}

/* Bytes the files under dir/name take on disk (du's count of allocated blocks). */
static long long disk_bytes(const char *dir, const char *name)
{
	char cmd[4096], *out = NULL;
	snprintf(cmd, sizeof(cmd), "du -s -B1 '%s/%s'", dir, name);
	long long n = tu_run(cmd, &out, NULL) == 0 && out ? atoll(out) : -1;
	free(out);
	return n;
}

/* Every completed line's outputs are in loose/ and match their sha256. */
static void check_loose(struct e2e_world *w)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && jq -r 'select(.status==\"completed\") | .outputs[] | .sha256 + \"  "
		 "loose/\" + .path' out/results.jsonl | sha256sum -c --quiet",
		 w->dir);
	assert_int_equal(tu_run(cmd, NULL, NULL), 0);
}

/*
 * Without an archive, --outputs-dir's files are the one copy: the output
 * folder keeps no second one, and a re-run adds its files beside the
 * earlier ones without writing those again.
 */
static void test_outputs_dir_without_archive(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms --output-bytes 4M");
	write_manifest(w, "loose", 5);
	const char *args =
	    "m.csv --technique cctv-cam --out out --archive none --outputs-dir loose";
	struct e2e_run r = e2e_world_run(w, KEY, args);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 5);
	e2e_lines_free(&l);
	check_loose(w);
	long long loose = disk_bytes(w->dir, "loose"), out = disk_bytes(w->dir, "out");
	assert_true(loose >= 5LL * 4 * 1024 * 1024);
	assert_true(out < 1024 * 1024); /* the record and the journal, no outputs */

	/* The first run's files keep their inodes: nothing rewrites them. */
	char cmd[4096], *before = NULL, *after = NULL;
	snprintf(cmd, sizeof(cmd), "cd '%s/loose' && find . -type f -printf '%%p %%i\\n' | sort",
		 w->dir);
	assert_int_equal(tu_run(cmd, &before, NULL), 0);
	write_manifest(w, "loose", 6);
	r = e2e_world_run(w, KEY, args);
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 6);
	e2e_lines_free(&l);
	check_loose(w);
	assert_int_equal(tu_run(cmd, &after, NULL), 0);
	assert_non_null(strstr(after, before)); /* sorted: the new item's file comes last */
	assert_true(disk_bytes(w->dir, "out") < 1024 * 1024);
	free(before);
	free(after);
}

/* --archive none alone keeps no output anywhere: each is checked and let go. */
static void test_archive_none_keeps_nothing(void **state)
{
	struct e2e_world *w = e2e_world_start(state, KEY, "--run-time 200ms --output-bytes 4M");
	write_manifest(w, "gone", 5);
	struct e2e_run r =
	    e2e_world_run(w, KEY, "m.csv --technique cctv-cam --out out --archive none");
	assert_int_equal(r.status, 0);
	e2e_run_free(&r);
	struct e2e_lines l = e2e_world_results(w);
	assert_int_equal(e2e_count_status(&l, "completed"), 5);
	e2e_lines_free(&l);
	assert_true(disk_bytes(w->dir, "out") < 1024 * 1024);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && jq -e -s 'map(select(.status==\"completed\")) | all(.outputs[0].bytes "
		 "== 4194304 and (.outputs[0].sha256 | length) == 64 and .volume == null)' "
		 "out/results.jsonl",
		 w->dir);
	assert_int_equal(tu_run(cmd, NULL, NULL), 0);
}

/*
 * The in-process simulator keeps a digest and a size of what is uploaded,
 * not the bytes: a folder of 128 images of 1 MiB leaves memory flat.
 */
static void test_sim_keeps_no_uploaded_bytes(void **state)
{
	(void)state;
	char *dir = tu_tmpdir(), *imgs = tu_path(dir, "imgs");
	mkdir(imgs, 0777);
	size_t n = 1 << 20;
	char *bytes = malloc(n);
	assert_non_null(bytes);
	for (int i = 0; i < 128; i++) {
		memcpy(bytes, "\x89PNG\r\n\x1a\n", 8);
		for (size_t k = 8; k < n; k++)
			bytes[k] = (char)((k * 2654435761u + (unsigned)i * 40503u) >> 13);
		char name[32];
		snprintf(name, sizeof(name), "%03d.png", i);
		free(tu_write_file(imgs, name, bytes, n));
	}
	free(bytes);
	struct e2e_run r =
	    e2e_florabatch(dir, "run imgs --technique cctv-cam --workspace ws_accept "
				"--out out --sim-clock virtual --concurrency 32 --summary block");
	if (r.status)
		print_error("exit %d: %s\n", r.status, r.err);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "128 completed"));
	double rss = peak_rss_mib(r.err);
	print_message("128 uploads of 1 MiB through the sim transport: peak RSS %.1f MiB\n", rss);
	if (E2E_MEASURED)
		assert_true(rss > 0 && rss < 48); /* the bytes kept would be 128 MiB */
	e2e_run_free(&r);
	tu_rmrf(dir);
	free(dir);
	free(imgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_large_outputs_stream_to_disk, teardown),
	    cmocka_unit_test_teardown(test_cut_downloads_resume, teardown),
	    cmocka_unit_test_teardown(test_pack_merges_volumes, teardown),
	    cmocka_unit_test_teardown(test_full_disk_then_room_again, teardown),
	    cmocka_unit_test_teardown(test_outputs_dir_without_archive, teardown),
	    cmocka_unit_test_teardown(test_archive_none_keeps_nothing, teardown),
	    cmocka_unit_test(test_sim_keeps_no_uploaded_bytes),
	    cmocka_unit_test_teardown(test_kill_while_archiving, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
