// Installed in every component: the host's log (always granted).
import { log } from "pyrus:plugin/log@0.2.0";
import { installHost } from "../host.js";

installHost({ log: (level, message) => log(level, message) });
