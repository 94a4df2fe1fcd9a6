/*
 * Unit tests for the event loop's own bookkeeping in vswitch.c, which is
 * compiled in whole (its main() renamed), on a real io_uring.
 *
 * io_uring_submit() is wrapped (-Wl,--wrap) so that a test can make the
 * kernel refuse submissions the way an older kernel does when its
 * completion ring overflowed (-EBUSY) or it is short of memory (-EAGAIN,
 * -ENOMEM): the switch must not abort, it gives up the one operation
 * that found no room and says so.
 */
#define main vswitch_main
int vswitch_main(int argc, char **argv);
#include "../../vswitch.c"
#undef main

#include "test.h"

int __real_io_uring_submit(struct io_uring *r);
int __wrap_io_uring_submit(struct io_uring *r);

static int submit_fail;		/* calls left to refuse; -1: all */
static int submit_err = -EBUSY;
static int submit_calls;

int __wrap_io_uring_submit(struct io_uring *r)
{
	submit_calls++;
	if (submit_fail) {
		if (submit_fail > 0)
			submit_fail--;
		return submit_err;
	}
	return __real_io_uring_submit(r);
}

/* Fill the submission queue with no-ops: the next get_sqe must submit. */
static void fill_sq(void)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&ring)) != NULL) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, ud_pack(UD_NONE, 0, 0, 0));
	}
}

/* Submit everything and take every completion, handled or not. */
static void settle(void)
{
	submit_fail = 0;
	__real_io_uring_submit(&ring);
	io_uring_get_events(&ring);
	take_completions();
	ndone = 0;
	done_head = 0;
}

TEST(test_get_sqe_survives_a_kernel_that_refuses)
{
	static const int errs[] = { -EBUSY, -EAGAIN, -ENOMEM };
	unsigned int i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fill_sq();
		submit_err = errs[i];
		submit_fail = -1;
		CHECK(get_sqe(ud_pack(UD_NONE, 0, 0, 0)) == NULL);
		/* Refused once, then taken: the entry comes after all. */
		submit_fail = 1;
		CHECK(get_sqe(ud_pack(UD_NONE, 0, 0, 0)) != NULL);
		settle();
	}
}

TEST(test_refused_submission_makes_room_for_completions)
{
	struct io_uring_sqe *sqe;
	unsigned int i;

	/* Completions waiting in the ring (no-ops done), then a full
	 * queue and a kernel that wants room first: they are moved to the
	 * switch's own queue, in order, before the entry is had. */
	for (i = 0; i < 8; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, ud_pack(UD_NONE, 0, 0, i));
	}
	__real_io_uring_submit(&ring);
	io_uring_get_events(&ring);
	fill_sq();
	submit_calls = 0;
	submit_fail = 1;
	CHECK(get_sqe(ud_pack(UD_NONE, 0, 0, 99)) != NULL);
	CHECK(submit_calls == 2);
	CHECK(ndone == 8);
	for (i = 0; i < ndone && i < 8; i++)
		CHECK(ud_gen(done_q[(done_head + i) % VS_DONE_MAX].ud) == i);
	settle();
}

/* A port whose messages cannot be received, or whose kicks cannot be
 * watched, is broken (and disconnected at the end of the turn) with a
 * reason: it does not sit there deaf. */
TEST(test_port_without_room_for_its_requests_is_broken)
{
	struct port_cfg pc;
	struct port *p = &ports[0];
	int sv[2];

	memset(&pc, 0, sizeof(pc));
	strcpy(pc.name, "t");
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	port_init(p, 0, &pc);
	p->conn_fd = sv[0];
	msg_reset(p);
	fill_sq();
	submit_fail = -1;
	arm_recv(p);
	CHECK(sw_port_broken(&sw, 0) != NULL &&
	      strcmp(sw_port_broken(&sw, 0), "cannot receive its messages "
		     "(io_uring full)") == 0);
	CHECK(!recv_areas[0].busy);
	sw_forget(&sw, 0);
	p->kick_fd[VU_TX] = sv[0];
	arm_kick(p, VU_TX);
	CHECK(sw_port_broken(&sw, 0) != NULL &&
	      strcmp(sw_port_broken(&sw, 0),
		     "cannot watch its kick fd (io_uring full)") == 0);
	settle();
	p->kick_fd[VU_TX] = -1;
	p->conn_fd = -1;
	sw_port_remove(&sw, 0);
	p->in_use = false;
	close(sv[0]);
	close(sv[1]);
}

/* Timers and the signal read that find no room say so (the engine then
 * goes without: test_switch.c), and the signal read is armed again on
 * the loop's next turn. */
TEST(test_timers_without_room_are_retried)
{
	fill_sq();
	submit_fail = -1;
	CHECK(!sw_ops.arm_timer(NULL, SW_TIMER_HOLD, 20));
	CHECK(!sw_ops.arm_timer(NULL, SW_TIMER_AGING, 1000));
	arm_signal();
	CHECK(!signal_armed);
	settle();
	arm_signal();
	CHECK(signal_armed);
	settle();
}

int main(void)
{
	if (uring_init() < 0 || signals_init() < 0) {
		fprintf(stderr, "cannot set up io_uring\n");
		return 1;
	}
	if (sw_init(&sw, &sw_ops, NULL, 16, 300, 1) < 0)
		return 1;
	log_level = LOG_ERROR;	/* the refusals are logged at warn */
	RUN(test_get_sqe_survives_a_kernel_that_refuses);
	RUN(test_refused_submission_makes_room_for_completions);
	RUN(test_port_without_room_for_its_requests_is_broken);
	RUN(test_timers_without_room_are_retried);
	return test_summary();
}
