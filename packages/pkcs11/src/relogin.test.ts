import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSoftHsm, softHsmAvailable, type SoftHsm } from "../../../test/support/softhsm.ts";
import { acquireModule, pkcs11js, type PKCS11 } from "./binding.ts";
import { openPkcs11Token, type Pkcs11Token } from "./token.ts";

const AAD = Buffer.from("switchyard/data-key/v1|dk_1|app|app_1");

// Skipped only off CI when SoftHSM2 is not installed (softHsmAvailable() says why); under CI=true it answers true and a missing module fails.
describe.runIf(softHsmAvailable())("PKCS#11 re-login after a lost session, on SoftHSM2", () => {
  let hsm: SoftHsm;
  let token: Pkcs11Token;
  let module: { lib: PKCS11; release(): void };
  let logins = 0;

  beforeAll(async () => {
    hsm = await createSoftHsm({ keyLabels: ["master-1"] });
    token = openPkcs11Token({ module: hsm.module, tokenLabel: hsm.tokenLabel, keyLabels: ["master-1"], pin: hsm.pin });
    // The module the token uses (one per process): C_Login is counted on the real library.
    module = acquireModule(hsm.module);
    const login = module.lib.C_Login.bind(module.lib);
    module.lib.C_Login = ((...args: Parameters<PKCS11["C_Login"]>) => {
      logins += 1;
      return login(...args);
    }) as PKCS11["C_Login"];
  });
  afterAll(async () => {
    token?.close();
    module?.release();
    await hsm?.remove();
  });

  const slot = () => module.lib.C_GetSlotList(true).find((s) => module.lib.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel)!;

  it("logs in again once after the session is lost, and carries on", async () => {
    const [key] = token.keys;
    module.lib.C_CloseAllSessions(slot());
    const before = logins;
    const wrapped = await key!.wrap(Buffer.alloc(32, 1), AAD);
    expect(await key!.unwrap(wrapped, AAD)).toEqual(Buffer.alloc(32, 1));
    expect(logins - before).toBe(1);
  });

  it("after the PIN changed, tries the old PIN once for 20 concurrent calls, then fails closed without asking the token again", async () => {
    const [key] = token.keys;
    const wrapped = await key!.wrap(Buffer.alloc(32, 2), AAD);
    // Someone changes the user PIN on the token; then the service's session is lost.
    const admin = module.lib.C_OpenSession(slot(), pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    module.lib.C_SetPIN(admin, hsm.pin, "9999-0000");
    module.lib.C_CloseAllSessions(slot());
    const before = logins;
    const calls = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? key!.unwrap(wrapped, AAD) : key!.wrap(Buffer.alloc(32, 3), AAD))));
    expect(calls.every((c) => c.status === "rejected")).toBe(true);
    expect(logins - before).toBe(1);
    const later = await key!.wrap(Buffer.alloc(32, 4), AAD).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(later?.message).toMatch(/refused the PIN .*not trying again until restart .*fix SWITCHYARD_PKCS11_PIN_FILE and restart/);
    expect(later?.message).not.toContain(hsm.pin);
    expect(logins - before).toBe(1);
  });
});
