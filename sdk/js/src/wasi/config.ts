// Installed when the plugin reads variables: wasi:config/store.
import { get, getAll } from "wasi:config/store@0.2.0-draft";
import { installHost } from "../host.js";

installHost({
  variable: (name) => {
    try {
      return get(name) ?? undefined;
    } catch {
      return undefined;
    }
  },
  variables: () => {
    try {
      return getAll();
    } catch {
      return [];
    }
  },
});
