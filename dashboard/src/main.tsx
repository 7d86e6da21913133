import { render } from "preact";
import { Shell } from "./pages/shell.tsx";
import { adoptTokenFromFragment } from "./session.ts";
import "./styles/base.css";
import "./styles/controls.css";
import "./styles/lists.css";
import "./styles/features.css";
import "./styles/narrow.css";

// Before anything renders: a `#token=` link signs in and leaves the address bar.
adoptTokenFromFragment();

const root = document.getElementById("root");
if (root) render(<Shell />, root);
