export { Button } from './Button';
export { Card, CardHeader } from './Card';
export { Badge, type Tone } from './Badge';
export { StatusDot } from './StatusDot';
export { Input } from './Input';
export { Avatar } from './Avatar';
