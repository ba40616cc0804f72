"""The server's warm-up takes its steps only while no page runs, and does every step."""
import threading

import ui.warmup as warmup


def test_the_warm_up_waits_while_a_page_runs_and_then_does_every_step(monkeypatch):
    done = []
    monkeypatch.setattr(warmup, "DELAY_S", 0)
    monkeypatch.setattr(warmup, "_steps", lambda reader, store: [lambda i=i: done.append(i) for i in range(3)])
    page_started, page_may_end = threading.Event(), threading.Event()

    def page():
        with warmup.page_running():
            page_started.set()
            page_may_end.wait(10)

    visitor = threading.Thread(target=page)
    visitor.start()
    page_started.wait(10)
    worker = threading.Thread(target=warmup._warm, args=(None, None))
    worker.start()
    worker.join(0.5)
    assert done == [] and worker.is_alive()       # held while the page runs
    page_may_end.set()
    visitor.join(10)
    worker.join(10)
    assert done == [0, 1, 2] and not worker.is_alive()


def test_a_page_that_fails_still_lets_the_warm_up_go_on():
    try:
        with warmup.page_running():
            raise RuntimeError("the page failed")
    except RuntimeError:
        pass
    assert warmup.wait_until_quiet(timeout_s=0.1)


def test_the_steps_cover_every_module_and_chart_type():
    class Reader:
        def analytics(self, sql):
            return sql
    steps = warmup._steps(Reader(), None)
    assert len(steps) == len(warmup.MODULES) + len(warmup.TRACE_TYPES) + 3
    for kind in warmup.TRACE_TYPES:             # each draws without error
        warmup._draw(kind)
