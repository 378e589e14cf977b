// Entry point of the bundled action (dist/index.js), for both the main and the post step.
// First, before any other module runs: Node restarts with a small young generation (runtime/).
import './runtime/restart.js'
import { isPost } from './action/state.js'
import { run } from './main.js'
import { post } from './post.js'

void (isPost() ? post() : run())
