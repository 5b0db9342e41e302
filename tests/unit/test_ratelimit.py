from swarmfly.ratelimit import RateLimiter, limiter_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_bucket_holds_the_average_rate() -> None:
    time = FakeTime()
    limiter = RateLimiter(1000, burst=1000, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        await limiter.acquire(500)
    # 5000 bytes at 1000 B/s with a 1000-byte burst: 4 seconds of waiting.
    assert abs(sum(time.slept) - 4.0) < 1e-9


async def test_no_wait_within_burst_and_zero_means_unlimited() -> None:
    time = FakeTime()
    limiter = RateLimiter(1000, burst=2000, clock=time.clock, sleep=time.sleep)
    await limiter.acquire(2000)
    assert time.slept == []
    assert limiter_for(0) is None
