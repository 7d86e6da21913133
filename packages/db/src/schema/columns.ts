import { customType, timestamp } from "drizzle-orm/pg-core";

/**
 * `bytea` as a Node Buffer on both drivers: PGlite hands back a Uint8Array,
 * postgres.js a Buffer; callers see one type.
 */
export const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (value) => Buffer.from(value),
  toDriver: (value) => value,
});

/** Every timestamp is `timestamptz`, read as a Date. */
export const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const createdAt = () => timestamptz("created_at").notNull().defaultNow();
