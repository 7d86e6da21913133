import { describe, expect, test } from "vitest";
import { ANYMAIL_PARSED_EMAIL, encodeMultipart, encodeUrlencoded, expectInboundShape, fixture, fixtureJson, formPoster } from "./test-support.ts";

const post = formPoster("mailgun");
const sample = (name: string) => fixtureJson(`mailgun-inbound/${name}`);

describe("mailgun forward posts", () => {
  test("anymail's forward() fields, urlencoded and multipart, give the same normalised email", async () => {
    const fields = sample("mailgun-forward.json");
    const urlencoded = await post(encodeUrlencoded(fields));
    const multipart = await post(encodeMultipart(fields));
    expect(multipart).toEqual(urlencoded);
    const { email, raw, mailgun } = urlencoded;
    expectInboundShape(email);
    expect(raw).toBeNull();
    expect(mailgun).toEqual({ timestamp: "1461261330", token: fields.token, signature: fields.signature });
    // From message-headers: the post has no top-level from/subject/Message-Id.
    expect(email).toMatchObject(ANYMAIL_PARSED_EMAIL);
    expect(email.headers["x-mailgun-sscore"]).toBe("1.7");
    expect(email.headers["x-mailgun-sflag"]).toBe("No");
    expect(email.headers.received?.split("\n")).toHaveLength(3);
    expect(email.headers.from).toBe('"Displayed From" <from+test@example.org>');
  });

  test("top-level from, subject, Message-Id and In-Reply-To fields are read when Mailgun sends them", async () => {
    const { email } = await post(
      encodeUrlencoded({
        timestamp: "1",
        token: "t",
        signature: "s",
        recipient: "in@example.com",
        sender: "bounce@example.com",
        from: "Ann <ann@example.com>",
        subject: "Hello",
        "Message-Id": "<m1@example.com>",
        "In-Reply-To": "<m0@example.com>",
        "body-plain": "hi",
      }),
    );
    expectInboundShape(email);
    expect(email).toMatchObject({ from: "ann@example.com", to: ["in@example.com"], subject: "Hello", message_id: "<m1@example.com>", in_reply_to: "<m0@example.com>" });
    expect(email.headers).toMatchObject({ from: "Ann <ann@example.com>", to: "in@example.com", subject: "Hello" });
  });

  test("attachment-N file parts of a multipart post become attachments", async () => {
    const fields = sample("mailgun-forward.json");
    const { email } = await post(
      encodeMultipart({ ...fields, "attachment-count": "1" }, [{ name: "attachment-1", filename: "report.csv", contentType: "text/csv", content: Buffer.from("a,b\n1,2\n") }]),
    );
    expect(email.attachments).toEqual([{ filename: "report.csv", content_type: "text/csv", size: 8, content_base64: Buffer.from("a,b\n1,2\n").toString("base64") }]);
  });
});

describe("mailgun MIME posts", () => {
  test("anymail's body-mime post is parsed as MIME and body-mime returned as raw", async () => {
    const fields = sample("mailgun-forward-mime.json");
    const { email, raw, mailgun } = await post(encodeUrlencoded(fields));
    expectInboundShape(email);
    expect(raw?.toString("utf8")).toBe(fields["body-mime"]);
    expect(mailgun?.signature).toBe(fields.signature);
    expect(email).toMatchObject({ from: "test@example.org", to: ["test@inbound.example.com"], subject: "Raw MIME test", message_id: "<CAEPk3RKEx@mail.example.org>" });
    expect(email.text).toBe("It's a body…\n");
    // The post's envelope recipient is the MIME's To.
    expect(email.to).toEqual([fields.recipient]);
  });

  test("Rails' signed post: body-mime is welcome.eml byte for byte, with its In-Reply-To and two inline JPEGs", async () => {
    const fields = sample("rails-mailgun-mime-signed.json");
    for (const encoded of [encodeUrlencoded(fields), encodeMultipart(fields)]) {
      const { email, raw } = await post(encoded);
      expectInboundShape(email);
      expect(raw?.equals(fixture("mailgun-inbound/rails-welcome.eml"))).toBe(true);
      expect(email).toMatchObject({
        from: "jason@37signals.com",
        to: ["replies@example.com"],
        subject: "Discussion: Let's debate these attachments",
        message_id: "<0CB459E0-0336-41DA-BC88-E6E28C697DDB@37signals.com>",
        in_reply_to: "<4e6e35f5a38b4_479f13bb90078178@small-app-01.mail>",
      });
      expect(email.attachments.map((a) => [a.filename, a.content_type])).toEqual([
        ["avatar1.jpeg", "image/jpeg"],
        ["avatar2.jpg", "image/jpeg"],
      ]);
    }
  });

  test("urlencoded body-mime keeps non-UTF-8 bytes exactly", async () => {
    const mime = Buffer.concat([Buffer.from("From: a@example.com\r\nSubject: =?iso-8859-2?q?z=E1sob?=\r\nContent-Type: text/plain; charset=iso-8859-2\r\nContent-Transfer-Encoding: 8bit\r\n\r\nV"), Buffer.from([0xe1, 0xbe]), Buffer.from("en\r\n")]);
    const body = Buffer.from(`timestamp=1&token=t&signature=s&body-mime=${[...mime].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("")}`);
    const { email, raw } = await post({ contentType: "application/x-www-form-urlencoded", body });
    expect(raw?.equals(mime)).toBe(true);
    expect(email.subject).toBe("zásob");
    expect(email.text).toBe("Vážen\n");
  });
});

describe("mailgun refusals", () => {
  test("refuses a post missing timestamp, token or signature, naming the field", async () => {
    const fields = sample("mailgun-forward.json");
    for (const missing of ["timestamp", "token", "signature"]) {
      const { [missing]: _dropped, ...rest } = fields;
      await expect(post(encodeUrlencoded(rest))).rejects.toMatchObject({ code: "invalid_input", status: 400, details: { field: missing } });
    }
  });

  test("refuses malformed message-headers, a JSON body (415), and a post with no sender", async () => {
    const fields = sample("mailgun-forward.json");
    await expect(post(encodeUrlencoded({ ...fields, "message-headers": "[[1]]" }))).rejects.toMatchObject({ code: "invalid_input", details: { field: "message-headers[0]" } });
    await expect(post({ contentType: "application/json", body: Buffer.from(JSON.stringify(fields)) })).rejects.toMatchObject({ code: "unsupported_media_type", status: 415 });
    await expect(post(encodeUrlencoded({ timestamp: "1", token: "t", signature: "s" }))).rejects.toMatchObject({ code: "invalid_input", details: { field: "from" } });
  });
});
