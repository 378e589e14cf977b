// End-to-end tests build, ship and verify real stacks: minutes, not milliseconds.
import { jest } from '@jest/globals'

jest.setTimeout(600000)
