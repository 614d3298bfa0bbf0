import { builder } from './builder.js';
import './task.js';
import './task-events.js';

export const schema = builder.toSchema({ sortSchema: false });
