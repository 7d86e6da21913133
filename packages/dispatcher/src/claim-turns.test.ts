import { describe, expect, it } from "vitest";
import { BASE_QUANTUM, MAX_QUANTUM, RotationCursor, TurnQuantum } from "./claim-turns.ts";

describe("a claim's turn length", () => {
  it("starts at the fair share, grows for short runs and stays at it for long ones", () => {
    const short = new TurnQuantum(8);
    expect(short.value()).toBe(BASE_QUANTUM);
    for (let i = 0; i < 100; i++) short.observe(0.5);
    expect(short.value()).toBe(MAX_QUANTUM);

    const long = new TurnQuantum(8);
    for (let i = 0; i < 100; i++) long.observe(2_000);
    expect(long.value()).toBe(BASE_QUANTUM);
  });

  it("fits a turn in the worker time its runs hold the slots, as a power of two between the bounds", () => {
    const turn = new TurnQuantum(8);
    // 50 ms × 8 slots / 20 ms a run: 20 events fit, so 16.
    for (let i = 0; i < 200; i++) turn.observe(20);
    expect(turn.value()).toBe(16);
    // Runs turning long shorten the next turns within a few dozen runs.
    for (let i = 0; i < 60; i++) turn.observe(1_000);
    expect(turn.value()).toBe(BASE_QUANTUM);
  });

  it("counts a run still going with its age, so long runs in flight keep turns short", () => {
    const turn = new TurnQuantum(8);
    for (let i = 0; i < 100; i++) turn.observe(0.5);
    expect(turn.value(0)).toBe(MAX_QUANTUM);
    expect(turn.value(2_000)).toBe(BASE_QUANTUM);
  });

  it("ignores durations that are not times", () => {
    const turn = new TurnQuantum(8);
    turn.observe(Number.NaN);
    turn.observe(-1);
    expect(turn.value()).toBe(BASE_QUANTUM);
  });
});

describe("the rotation cursor", () => {
  it("continues where the last claim stopped, and a newcomer claim neither continues nor moves it", () => {
    const cursor = new RotationCursor();
    expect(cursor.next(false)).toEqual({ after: "", resume: null });
    cursor.moved({ after: "app_a", resume: { appId: "app_b", taken: 3 } }, false);
    expect(cursor.next(false)).toEqual({ after: "app_a", resume: { appId: "app_b", taken: 3 } });
    // The claim for the newcomers' slot starts there too, without the cut turn.
    expect(cursor.next(true)).toEqual({ after: "app_a", resume: null });
    cursor.moved({ after: "app_z", resume: null }, true);
    expect(cursor.next(false)).toEqual({ after: "app_a", resume: { appId: "app_b", taken: 3 } });
  });
});
