// Entry point of the bundled action (dist/index.js), for both the main and the post step.
import { isPost } from './action/state.js'
import { run } from './main.js'
import { post } from './post.js'

void (isPost() ? post() : run())
